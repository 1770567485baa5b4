"""Figures of xbarkit results (matplotlib, Agg backend; nothing opens a window).

- ``ir_drop_map(solution, crossbar)``: the IR-drop map of a native solve (``solve(...,
  node_voltages=True)``) as heat maps, one per current-carrying rail, of each node's voltage
  difference from its ideal-wire value (mV).
- ``psw_curves(bundle)`` / ``psw_result(result)``: P_sw(I) with binomial error bars and the fitted
  logistic curve, from an ``mtj_psw`` bundle or an ``mtj_psw()`` result.
- ``lut_mean_std(lut, table)``: an ``array_ps`` table's mean and standard deviation over its axes.
- ``accuracy_sweep(results, x)``: accuracy against tile rows, wire scale or MTJ sampling length,
  from ``xbarkit infer --json`` documents or one ``xbarkit run --json`` document.
- ``main_job_grid(report)`` / ``main_job_pareto(report)``: the main job's (``xbarkit run``) accuracy
  over tile rows x wire scale per mapping, and accuracy against energy per image with the Pareto front.
- ``energy_breakdown(results)``: energy per image by component (array, drivers, converters,
  digital) as shares and on a log scale, from ``xbarkit infer --read-lut ... --json`` documents.

Each returns the matplotlib Figure and, given ``path``, saves it there (PNG, SVG or PDF by the file
extension). The same figures from a shell: ``python3 -m xbarkit.plot --help``.
"""
import argparse
import os
import sys

import matplotlib

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import _core  # noqa: E402  (the C++ extension, imported by the figures that need it)

__all__ = ["ir_drop_map", "psw_curves", "psw_result", "lut_mean_std", "accuracy_sweep", "energy_breakdown", "main_job_grid",
           "main_job_pareto", "main"]

_DPI = 120


def _finish(fig, path):
    if path is not None:
        fig.savefig(os.fspath(path), dpi=_DPI, bbox_inches="tight")
    return fig


def _rail_references(crossbar):
    """{map name: the voltage each node of that rail would have with ideal wires}.

    Ladder kinds (sram8t, rram1t1r) hold the bitline and the source line at the voltages
    ``crossbar.ladder_rails()`` names; the grid kind (passive) drives row i at v_read when its input
    is 1 (else 0 V) from column 0 and senses every column line at 0 V (netlist/crossbar.hpp).
    """
    rows, cols = crossbar.rows, crossbar.cols
    rails = crossbar.ladder_rails()
    if rails is not None:
        return {"bitline_V": np.full((rows, cols), rails["bitline_V"]),
                "sourceline_V": np.full((rows, cols), rails["sourceline_V"])}
    drive = crossbar.inputs.astype(float) * crossbar.v_read_V
    return {"bitline_V": np.zeros((rows, cols)), "wordline_V": np.repeat(drive[:, None], cols, axis=1)}


_LABELS = {"bitline_V": "bitline", "sourceline_V": "source line", "wordline_V": "wordline"}


def ir_drop_map(solution, crossbar, path=None):
    """Heat maps of the IR drop of a native solve with node voltages (``solve(crossbar,
    engine='native', node_voltages=True)``): for each rail that carries current (bitline and source
    line of ladder kinds; column and row lines of passive arrays), V(node) - V(ideal wire) in mV,
    i.e. the voltage the wire lost between the node and the rail's terminal."""
    if solution.bitline_V is None:
        raise ValueError("solution: has no node voltages; solve with engine='native', node_voltages=True")
    if (solution.rows, solution.cols) != (crossbar.rows, crossbar.cols):
        raise ValueError(f"crossbar: is {crossbar.rows}x{crossbar.cols}, the solution {solution.rows}x{solution.cols}")
    maps = []
    for key, ref in _rail_references(crossbar).items():
        v = getattr(solution, key)
        if v is not None:
            maps.append((_LABELS[key], (np.asarray(v) - ref) * 1e3))
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps) + 0.6, 4.4), squeeze=False)
    for ax, (label, drop_mV) in zip(axes[0], maps):
        lim = float(np.abs(drop_mV).max()) or 1e-3
        im = ax.imshow(drop_mV, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest", aspect="auto")
        ax.set_title(f"{label} (max |drop| {lim:.2f} mV)")
        ax.set_xlabel("column j")
        ax.set_ylabel("row i (0 = top)")
        fig.colorbar(im, ax=ax, label="V - V(ideal wire) (mV)")
    title = f"IR-drop map, {crossbar.cell} {solution.rows}x{solution.cols}"
    if solution.ideal_column_current_A is not None:
        i = np.asarray(solution.column_current_A)
        i0 = np.asarray(solution.ideal_column_current_A)
        on = i0 > 1e-3 * i0.max() if i0.max() > 0 else np.zeros(i0.shape, dtype=bool)
        if on.any():
            loss = 100 * (1 - i[on] / i0[on])
            span = f"{loss.min():.1f}" if f"{loss.min():.1f}" == f"{loss.max():.1f}" else f"{loss.min():.1f}..{loss.max():.1f}"
            title += f"; column current {span}% below ideal"
    fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, path)


def _logistic(x, x50, scale):
    return 1.0 / (1.0 + np.exp(-(x - x50) / scale))


def psw_result(result, path=None, ax=None, label=None):
    """P_sw(I) of an ``mtj_psw()`` result: points with binomial standard errors and the ML fit."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
    else:
        fig = ax.figure
    i = np.asarray(result["current_A"]) * 1e6
    p = np.asarray(result["p_switch"])
    err = np.asarray(result["stderr"])
    lab = label or f"{result['device']}, {result['pulse_s'] * 1e9:g} ns"
    line = ax.errorbar(i, p, yerr=err, fmt="o", ms=4, capsize=3, label=f"{lab} ({result['trials']} trials)")
    fit = result["fit"]
    if fit.get("ok"):
        x = np.linspace(i.min(), i.max(), 300)
        ax.plot(x, _logistic(x, fit["i50_A"] * 1e6, fit["scale_A"] * 1e6), "-", color=line[0].get_color(),
                label=f"fit: I50 = {fit['i50_A'] * 1e6:.1f} uA, scale {fit['scale_A'] * 1e6:.2f} uA")
    if own:
        _psw_axes(ax, f"Switching probability, {result['device']}")
        fig.tight_layout()
    return _finish(fig, path) if own else fig


def _psw_axes(ax, title):
    ax.set_xlabel("write current (uA)")
    ax.set_ylabel("P_sw")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)


def psw_curves(bundle, path=None, device=None):
    """P_sw(I) per device and pulse of an ``mtj_psw`` bundle (a Bundle or its directory): the
    table's points with their binomial standard errors and each pulse's logistic fit."""
    b = _core().load_bundle(os.fspath(bundle)) if isinstance(bundle, (str, os.PathLike)) else bundle
    if b.kind != "mtj_psw":
        raise ValueError(f"bundle: expected an mtj_psw bundle, {b.dir} is '{b.kind}'")
    names = [t for t in b.tables if device is None or t == f"{device}_psw"]
    if not names:
        raise ValueError(f"device: no table '{device}_psw' in {b.dir} (tables: {', '.join(b.tables)})")
    fits = b.fits
    fig, axes = plt.subplots(1, len(names), figsize=(6.0 * len(names), 4.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        t = b.table(name)
        (pa, _, pulses), (ca, _, currents) = t.axes
        if (pa, ca) != ("pulse_s", "current_A"):
            raise ValueError(f"bundle: table {name} has axes ({pa}, {ca}), expected (pulse_s, current_A)")
        p = t.values("p_switch")
        se = t.values("stderr")
        dev = t.attributes.get("device", name[: -len("_psw")])
        for k, pulse in enumerate(pulses):
            line = ax.errorbar(currents * 1e6, p[k], yerr=se[k], fmt="o", ms=4, capsize=3,
                               label=f"{pulse * 1e9:g} ns")
            fit_name = f"{dev}_{pulse * 1e9:g}ns"
            if fit_name in fits:
                x = np.linspace(currents.min(), currents.max(), 300)
                ax.plot(x * 1e6, b.evaluate_fit(fit_name, x), "-", color=line[0].get_color(),
                        label=f"fit {pulse * 1e9:g} ns: I50 {fits[fit_name]['params']['x50'] * 1e6:.1f} uA")
        trials = t.attributes.get("trials", "")
        _psw_axes(ax, f"{dev}: P_sw(I), {trials} trials per point")
    fig.tight_layout()
    return _finish(fig, path)


def lut_mean_std(lut, table=None, path=None, slice_at=None):
    """Mean and standard deviation of an ``array_ps`` table over its axes.

    ``lut``: an ArrayLut, a Bundle or a bundle directory; ``table``: the table name (default: the
    first configuration). Two axes (k, q): heat maps of the mean current (uA), of the loss against
    the ideal k x I_cell (percent; array_ps tables) and of the standard deviation (percent of the
    table's full scale). One axis: the mean with a +-2 std band. More axes: the first two, the others fixed at
    the grid points nearest ``slice_at`` ({axis: value}, default their middle points).
    """
    if isinstance(lut, (str, os.PathLike)):
        b = _core().load_bundle(os.fspath(lut))
    elif isinstance(lut, _core().ArrayLut):
        b = lut.bundle
    else:
        b = lut
    if table is None:
        candidates = [n for n in b.tables if not n.endswith("_transfer")]
        if not candidates:
            raise ValueError(f"lut: bundle {b.dir} has no tables")
        table = candidates[0]
    if table not in b.tables:
        raise ValueError(f"table: no table '{table}' in {b.dir} (tables: {', '.join(b.tables)})")
    t = b.table(table)
    cols = [c for c, _ in t.columns]
    if "mean_A" not in cols or "std_A" not in cols:
        raise ValueError(f"table: {table} has no mean_A/std_A columns (columns: {', '.join(cols)})")
    axes = t.axes
    mean = t.values("mean_A")
    std = t.values("std_A")
    fixed = []
    if len(axes) > 2:
        index = [slice(None), slice(None)]
        for name, _, pts in axes[2:]:
            want = (slice_at or {}).get(name, pts[len(pts) // 2])
            k = int(np.argmin(np.abs(pts - want)))
            index.append(k)
            fixed.append(f"{name} = {pts[k]:.3g}")
        mean, std = mean[tuple(index)], std[tuple(index)]
        axes = axes[:2]
    title = f"{table}" + (f" ({', '.join(fixed)})" if fixed else "")
    if len(axes) == 1:
        name, unit, x = axes[0]
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        ax.plot(x, mean * 1e6, "-o", ms=3, label="mean")
        ax.fill_between(x, (mean - 2 * std) * 1e6, (mean + 2 * std) * 1e6, alpha=0.3, label="+-2 std")
        ax.set_xlabel(name if unit in ("", "1") else f"{name} ({unit})")
        ax.set_ylabel("column current (uA)")
        ax.grid(alpha=0.3)
        ax.legend()
        ax.set_title(title)
        fig.tight_layout()
        return _finish(fig, path)
    (n0, u0, x0), (n1, u1, x1) = axes
    full_scale = float(np.nanmax(mean)) if np.isfinite(mean).any() else 1.0
    panels = [("mean current", mean * 1e6, "mean (uA)", "viridis")]
    i_cell = t.attributes.get("ideal_cell_current_A") if n0 == "k" else None
    if i_cell:
        # the current the wires cost: 1 - mean / (k I_cell), k conducting cells of ideal current
        ideal = x0[:, None] * i_cell
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(ideal > 0, 100 * (1 - mean / ideal), np.nan)
        panels.append(("loss against k x I_cell", loss, "loss (%)", "magma"))
    panels.append(("standard deviation", 100 * std / full_scale, "std (% of full scale)", "cividis"))
    fig, axs = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4))
    for ax, (name, values, label, cmap) in zip(np.atleast_1d(axs), panels):
        im = ax.pcolormesh(_edges(x1), _edges(x0), values, cmap=cmap, shading="flat")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_title(name)
        ax.set_xlabel(n1 if u1 in ("", "1") else f"{n1} ({u1})")
        ax.set_ylabel(n0 if u0 in ("", "1") else f"{n0} ({u0})")
    fig.suptitle(f"{title}: full scale {full_scale * 1e6:.1f} uA")
    fig.tight_layout()
    return _finish(fig, path)


def _edges(points):
    """Cell edges around grid nodes (midpoints, the outer cells as wide as their inner neighbours),
    so that each node's value is drawn centred on the node."""
    p = np.asarray(points, dtype=float)
    if len(p) == 1:
        return np.array([p[0] - 0.5, p[0] + 0.5])
    mid = 0.5 * (p[1:] + p[:-1])
    return np.concatenate([[p[0] - (mid[0] - p[0])], mid, [p[-1] + (p[-1] - mid[-1])]])


def _load_documents(results):
    """A list of JSON documents from paths, dicts, or a mix (one file may hold one document)."""
    import json

    if isinstance(results, (dict, str, os.PathLike)):
        results = [results]
    docs = []
    for r in results:
        if isinstance(r, dict):
            docs.append(r)
            continue
        try:
            with open(os.fspath(r)) as f:
                docs.append(json.load(f))
        except OSError as e:
            raise ValueError(f"results: cannot read {os.fspath(r)}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"results: {os.fspath(r)} is not a JSON document ({e})") from None
    if not docs:
        raise ValueError("results: no documents given")
    return docs


def _sampling_length(converter):
    """L of an ``mtj:...:L`` converter spec, else None."""
    if not converter.startswith("mtj:"):
        return None
    try:
        return int(converter.rsplit(":", 1)[1])
    except ValueError:
        return None


_SWEEP_AXES = {"rows": "tile rows", "wire_scale": "wire resistance scale", "sampling_length": "MTJ samples per read (L)"}


def accuracy_sweep(results, x="rows", path=None, title=None):
    """Accuracy (%) against ``x`` (``rows``, ``wire_scale`` or ``sampling_length``).

    ``results``: ``xbarkit infer --json`` documents (paths or dicts), one point each, grouped into
    curves by everything in their configuration but ``x``; or one ``xbarkit run --json`` document,
    one curve per configuration of the main job against rows, with the software accuracy as a
    dashed line. Error bars: the binomial standard error over the images, or for chip studies
    (``infer --chips``) the standard deviation over chips."""
    if x not in _SWEEP_AXES:
        raise ValueError(f"x: expected one of {', '.join(_SWEEP_AXES)}, got '{x}'")
    docs = _load_documents(results)
    series = {}
    software = None
    for d in docs:
        if "configurations" in d:  # xbarkit run --json
            if x != "rows":
                raise ValueError("x: a main-job (xbarkit run) document sweeps rows only")
            software = d.get("software_accuracy")
            # A main-job document crosses mappings with cells, converters and wire scales: one curve
            # per combination, labelled by what varies (a curve over rows must hold the rest fixed).
            confs = d["configurations"]
            fields = [k for k in ("cell", "converter", "wire_scale")
                      if len({str(c["config"].get(k)) for c in confs}) > 1]
            for c in confs:
                label = ", ".join([c["name"]] + [f"{k} {c['config'].get(k)}" for k in fields])
                series.setdefault(label, []).append((c["config"]["rows"], c["accuracy"], c.get("accuracy_stderr", 0.0)))
            continue
        if "accuracy" not in d or "config" not in d:
            raise ValueError("results: expected xbarkit infer --json or xbarkit run --json documents "
                             f"(keys 'accuracy' and 'config'), got keys {sorted(d)[:8]}")
        c = dict(d["config"])
        conv = c.get("converter", "")
        value = {"rows": c.get("rows"), "wire_scale": c.get("wire_scale"), "sampling_length": _sampling_length(conv)}[x]
        if value is None:
            raise ValueError(f"x: sampling_length needs mtj:...:L converters, got '{conv}'")
        if x == "sampling_length":
            conv = conv.rsplit(":", 1)[0]
        label = f"{os.path.basename(d.get('network', 'network'))}: {c.get('cell', '')} {c.get('mapping', '')}"
        if c.get("binsparx", "none") != "none":
            label += f" + BinSparX {c['binsparx']}"
        if x != "rows":
            label += f", {c.get('rows')} rows"
        if x != "wire_scale" and c.get("wire_scale", 1.0) != 1.0:
            label += f", wires x{c['wire_scale']:g}"
        label += f", {c.get('sensing', '')} sensing, {conv}"
        chips = d.get("chips")
        acc = chips["accuracy_mean"] if chips else d["accuracy"]
        # chip studies: the spread over chips; single runs: the binomial standard error over the images
        err = chips["accuracy_std"] if chips else float(np.sqrt(acc * (1 - acc) / max(d.get("images", 1), 1)))
        series.setdefault(label, []).append((value, acc, err))
        if software is None and d.get("software_accuracy") is not None:
            software = d["software_accuracy"]
    fig, ax = plt.subplots(figsize=(7.6, 4.8))
    for label, pts in series.items():
        pts.sort()
        xs, ys, es = (np.array(v, dtype=float) for v in zip(*pts))
        ax.errorbar(xs, 100 * ys, yerr=100 * es if es.any() else None, fmt="o-", ms=5, capsize=3, label=label)
    if software is not None:
        ax.axhline(100 * software, ls="--", color="0.3", label=f"software {100 * software:.2f}%")
    if x in ("rows", "sampling_length"):
        ax.set_xscale("log", base=2)
        ticks = sorted({p[0] for pts in series.values() for p in pts})
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_xlabel(_SWEEP_AXES[x])
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    images = {d.get("images") for d in docs}
    ax.set_title(title or f"Accuracy vs {_SWEEP_AXES[x]} ({'/'.join(str(i) for i in sorted(images, key=str))} images)")
    fig.tight_layout()
    return _finish(fig, path)


_ENERGY_PARTS = [("array_J", "array"), ("drivers_J", "drivers"), ("converters_J", "converters"), ("digital_J", "digital")]


def _si_energy(joules):
    for scale, unit in ((1e-6, "uJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if abs(joules) >= scale:
            return f"{joules / scale:.3g} {unit}"
    return f"{joules / 1e-15:.3g} fJ"


def energy_breakdown(results, labels=None, path=None):
    """Energy per image by component (array, drivers, converters, digital) from ``xbarkit infer
    --read-lut BUNDLE --json`` documents (paths or dicts), one bar group per configuration. Left:
    each component's share of the total (the total printed above the bar); right: each component's
    energy per image on a log scale, so a component a thousand times smaller than the dominant one
    is still visible."""
    import textwrap

    docs = _load_documents(results)
    for d in docs:
        if "breakdown" not in d:
            raise ValueError("results: a document has no energy breakdown (run xbarkit infer with --read-lut and --json)")
    if labels is None:
        labels = [f"{d['config']['rows']} rows, {d.get('converter', d['config'].get('converter', ''))}" for d in docs]
    if len(labels) != len(docs):
        raise ValueError(f"labels: {len(labels)} labels for {len(docs)} documents")
    wrapped = ["\n".join(textwrap.wrap(l, 26)) for l in labels]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(12, 5.2))
    n = len(docs)
    for i, d in enumerate(docs):
        total = sum(d["breakdown"]["total"][key] for key, _ in _ENERGY_PARTS)
        bottom = 0.0
        for k, (key, name) in enumerate(_ENERGY_PARTS):
            share = 100 * d["breakdown"]["total"][key] / total if total > 0 else 0.0
            ax_s.bar(i, share, bottom=bottom, color=colours[k], label=name if i == 0 else None)
            bottom += share
        ax_s.text(i, 101, _si_energy(total), ha="center", va="bottom", fontsize=8)
    ax_s.set_xticks(range(n))
    ax_s.set_xticklabels(wrapped, fontsize=7)
    ax_s.set_ylim(0, 112)
    ax_s.set_ylabel("share of the energy per image (%)")
    ax_s.set_title("Energy per image: shares (total above each bar)", fontsize=10)
    ax_s.legend(fontsize=8, loc="lower right")
    width = 0.8 / n
    for i, d in enumerate(docs):
        values = [max(d["breakdown"]["total"][key], 1e-18) * 1e12 for key, _ in _ENERGY_PARTS]
        xs = np.arange(len(_ENERGY_PARTS)) + (i - (n - 1) / 2) * width
        ax_e.bar(xs, values, width=width * 0.95, color=colours[(i + len(_ENERGY_PARTS)) % len(colours)], label=labels[i])
    ax_e.set_yscale("log")
    ax_e.set_xticks(range(len(_ENERGY_PARTS)))
    ax_e.set_xticklabels([name for _, name in _ENERGY_PARTS])
    ax_e.set_ylabel("energy per image (pJ)")
    ax_e.set_title("Energy per image by component", fontsize=10)
    ax_e.legend(fontsize=7, loc="upper left")
    for ax in (ax_s, ax_e):
        ax.grid(axis="y", alpha=0.3)
    images = {d.get("images") for d in docs}
    fig.suptitle(f"Inference energy ({os.path.basename(docs[0].get('network', 'network'))}, "
                 f"{'/'.join(str(i) for i in sorted(images, key=str))} images)", fontsize=11)
    fig.tight_layout()
    return _finish(fig, path)


def _main_job(report):
    doc = _load_documents(report)[0]
    if "configurations" not in doc or "answers" not in doc:
        raise ValueError("report: expected the report.json of xbarkit run (keys 'configurations' and 'answers')")
    return doc


def _ordered(values):
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def main_job_grid(report, path=None):
    """Accuracy (%) over tile rows x wire scale: one heat map per mapping (columns) and cell x
    converter (rows of panels), each square annotated with accuracy and its binomial standard error;
    a frame marks configurations within one point of software."""
    doc = _main_job(report)
    confs = doc["configurations"]
    maps = _ordered(c["name"] for c in confs)
    groups = _ordered((c["config"]["cell"], c["converter_label"]) for c in confs)
    rows = sorted({c["config"]["rows"] for c in confs})
    wires = sorted({c["config"]["wire_scale"] for c in confs})
    fig, axes = plt.subplots(len(groups), len(maps), figsize=(2.3 * len(maps) + 1.2, 2.1 * len(groups) + 0.8),
                             squeeze=False)
    sw = doc["software_accuracy"]
    for gi, (cell, conv) in enumerate(groups):
        for mi, name in enumerate(maps):
            ax = axes[gi][mi]
            grid = np.full((len(rows), len(wires)), np.nan)
            for c in confs:
                if c["config"]["cell"] == cell and c["converter_label"] == conv and c["name"] == name:
                    grid[rows.index(c["config"]["rows"]), wires.index(c["config"]["wire_scale"])] = 100 * c["accuracy"]
                    i, j = rows.index(c["config"]["rows"]), wires.index(c["config"]["wire_scale"])
                    ax.text(j, i, f"{100 * c['accuracy']:.1f}\n±{100 * c['accuracy_stderr']:.1f}", ha="center",
                            va="center", fontsize=7, color="white" if c["accuracy"] < 0.55 else "black")
                    if c["drop"] <= 0.01:
                        ax.add_patch(plt.Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False, lw=1.6, ec="tab:green"))
            im = ax.imshow(grid, vmin=10, vmax=100 * sw, cmap="viridis", origin="lower", aspect="auto")
            if np.isnan(grid).all():
                ax.text(0.5, 0.5, "not run", transform=ax.transAxes, ha="center", va="center", fontsize=8)
            ax.set_xticks(range(len(wires)))
            ax.set_xticklabels([f"{w:g}" for w in wires], fontsize=7)
            ax.set_yticks(range(len(rows)))
            ax.set_yticklabels([str(r) for r in rows], fontsize=7)
            if gi == len(groups) - 1:
                ax.set_xlabel("wire scale", fontsize=8)
            if mi == 0:
                ax.set_ylabel(f"{cell}, {conv}\nrows", fontsize=8)
            if gi == 0:
                ax.set_title(name.replace(" (", "\n(").replace(", ", ",\n"), fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label="test accuracy (%)")
    fig.suptitle(f"Accuracy over tile rows x wire scale (software {100 * sw:.2f}%; green frame: within 1 point)",
                 fontsize=10)
    return _finish(fig, path)


def main_job_pareto(report, path=None):
    """Accuracy (%) against energy per image (log scale) for every configuration of the main job:
    colour = mapping, marker = cell, filled = calibrated converter; the line is each cell's Pareto
    front (no other configuration of that cell is both cheaper and more accurate)."""
    doc = _main_job(report)
    confs = [c for c in doc["configurations"] if "energy_per_image_J" in c]
    if not confs:
        raise ValueError("report: no energies (the main job ran without --read-recipe)")
    maps = _ordered(c["name"] for c in confs)
    cells = _ordered(c["config"]["cell"] for c in confs)
    colors = {m: f"C{i}" for i, m in enumerate(maps)}
    markers = {c: "osD^v"[i % 5] for i, c in enumerate(cells)}
    fig, ax = plt.subplots(figsize=(8.4, 5.2))
    for c in confs:
        filled = c["converter_label"] != "uncalibrated"
        ax.errorbar(c["energy_per_image_J"] * 1e9, 100 * c["accuracy"], yerr=100 * c["accuracy_stderr"],
                    fmt=markers[c["config"]["cell"]], ms=4 + c["config"]["rows"] / 64, color=colors[c["name"]],
                    mfc=colors[c["name"]] if filled else "none", elinewidth=0.6, capsize=0, alpha=0.85)
    for cell in cells:
        pts = sorted(((c["energy_per_image_J"] * 1e9, 100 * c["accuracy"]) for c in confs if c["config"]["cell"] == cell))
        front, best = [], -1.0
        for e, a in pts:
            if a > best:
                front.append((e, a))
                best = a
        ax.step(*zip(*front), where="post", color="0.3", lw=0.9, ls="-" if cell == cells[0] else ":",
                label=f"{cell}: Pareto front")
    sw = doc["software_accuracy"]
    ax.axhline(100 * sw, ls="--", color="0.5", lw=0.8, label=f"software {100 * sw:.2f}%")
    ax.axhline(100 * sw - 1, ls=":", color="tab:green", lw=0.8, label="software - 1 point")
    for m in maps:
        ax.plot([], [], "s", color=colors[m], label=m)
    for cell in cells:
        ax.plot([], [], markers[cell], color="0.3", mfc="none", label=f"{cell} (filled: calibrated; size: rows)")
    ax.set_xscale("log")
    ax.set_xlabel("energy per image (nJ)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title("Accuracy vs energy per image, every configuration of the main job")
    fig.tight_layout()
    return _finish(fig, path)


def main(argv=None):
    """``python3 -m xbarkit.plot {ir-map,psw,lut,accuracy,energy} ... -o FILE.png`` (also ``xbarkit plot``)."""
    ap = argparse.ArgumentParser(prog=os.environ.get("XBARKIT_PLOT_PROG", "python3 -m xbarkit.plot"), description="Figures of xbarkit results.")
    sub = ap.add_subparsers(dest="figure", required=True)
    p = sub.add_parser("ir-map", help="IR-drop map of a crossbar recipe's native solve")
    p.add_argument("recipe", help="crossbar recipe (TOML)")
    p.add_argument("-o", "--output", required=True, help="image file (.png, .svg, .pdf)")
    p = sub.add_parser("psw", help="P_sw(I) with error bars and fits of an mtj_psw bundle")
    p.add_argument("bundle")
    p.add_argument("--device", help="one device of the bundle (default: all)")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("lut", help="mean and std of an array_ps table over its axes")
    p.add_argument("bundle")
    p.add_argument("--table", help="table name (default: the first)")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("accuracy", help="accuracy vs rows, wire scale or sampling length from infer/run JSON documents")
    p.add_argument("results", nargs="+", help="xbarkit infer --json outputs, or one xbarkit run --json output")
    p.add_argument("--x", default="rows", choices=sorted(_SWEEP_AXES), help="the swept quantity (default: rows)")
    p.add_argument("--title")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("energy", help="energy per image by component from infer --read-lut --json documents")
    p.add_argument("results", nargs="+", help="xbarkit infer --read-lut BUNDLE --json outputs")
    p.add_argument("--labels", help="comma-separated bar labels, one per document")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("main-job", help="the main job's figures from its report.json (xbarkit run)")
    p.add_argument("report", help="report.json written by xbarkit run")
    p.add_argument("--figure", dest="figure_kind", choices=["grid", "pareto"], default="grid",
                   help="grid: accuracy over rows x wire scale per mapping; pareto: accuracy vs energy per image")
    p.add_argument("-o", "--output", required=True)
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:  # argparse: 0 after --help, 2 for a bad command line
        return 0 if e.code in (0, None) else 1  # xbarkit's scheme: a command line to fix is status 1
    try:
        if args.figure == "ir-map":
            core = _core()
            x = core.load_recipe(args.recipe)
            ir_drop_map(core.solve(x, engine="native", node_voltages=True), x, path=args.output)
        elif args.figure == "psw":
            psw_curves(args.bundle, path=args.output, device=args.device)
        elif args.figure == "accuracy":
            accuracy_sweep(args.results, x=args.x, path=args.output, title=args.title)
        elif args.figure == "main-job":
            (main_job_grid if args.figure_kind == "grid" else main_job_pareto)(args.report, path=args.output)
        elif args.figure == "energy":
            energy_breakdown(args.results, labels=args.labels.split(",") if args.labels else None, path=args.output)
        else:
            lut_mean_std(args.bundle, table=args.table, path=args.output)
    except (ValueError, ImportError) as e:  # xbarkit.InputError is a ValueError
        print(f"xbarkit plot: error: {e}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, IndexError) as e:  # a JSON document of another shape
        print(f"xbarkit plot: error: results: not the documents the '{args.figure}' figure reads (missing or "
              f"malformed {e})", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"xbarkit plot: error: {args.output}: {e.strerror}", file=sys.stderr)
        return 1
    except Exception as e:  # xbarkit.Error (SolverError, SpiceError, Interrupted) once the extension is loaded
        core = sys.modules.get("xbarkit._xbarkit")
        if core is None or not isinstance(e, core.Error):
            raise
        print(f"xbarkit plot: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
