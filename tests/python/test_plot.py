"""Every figure type is written and is a real picture (size, dimensions, more than a blank canvas)."""
import json
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

import xbarkit
import xbarkit.plot as xplot
from conftest import SOURCE_DIR, cli_path


def check_png(path, min_width, min_height):
    """The file is a PNG of at least the given size in pixels, with drawn content: many distinct
    colours (a heat map or curves with a legend), not one background colour."""
    assert path.exists() and path.stat().st_size > 10_000, path
    img = matplotlib.image.imread(str(path))
    h, w = img.shape[:2]
    assert w >= min_width and h >= min_height, (w, h)
    colours = np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, len(colours)
    assert (img[..., :3] < 0.5).mean() > 0.005  # dark pixels: text, axes, data


@pytest.mark.parametrize("recipe", ["sram8t_7nm_32x32.toml", "passive_7nm_16x16.toml"])
def test_ir_drop_map(source_dir, tmp_path, recipe):
    x = xbarkit.load_recipe(str(source_dir / "netlists" / recipe))
    s = xbarkit.solve(x, node_voltages=True)
    fig = xplot.ir_drop_map(s, x, path=tmp_path / "ir.png")
    # two rails carry current in both kinds: sram8t bitline + source line, passive column + row lines
    assert len([a for a in fig.axes if a.images]) == 2
    check_png(tmp_path / "ir.png", 800, 400)
    with pytest.raises(ValueError, match="node_voltages"):
        xplot.ir_drop_map(xbarkit.solve(x), x)


def test_ir_drop_map_from_the_command_line(source_dir, tmp_path):
    out = tmp_path / "ir.svg"
    p = subprocess.run([sys.executable, "-m", "xbarkit.plot", "ir-map", str(source_dir / "netlists/rram1t1r_7nm_16x16.toml"),
                        "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert out.read_text().lstrip().startswith("<?xml") and out.stat().st_size > 10_000
    p = subprocess.run([sys.executable, "-m", "xbarkit.plot", "lut", str(tmp_path / "missing"), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stderr.startswith("xbarkit plot: error: ")


def test_lut_mean_std(bundles, tmp_path):
    _, py_dir, _ = bundles
    fig = xplot.lut_mean_std(xbarkit.ArrayLut(str(py_dir)), path=tmp_path / "lut.png")
    assert "sram8t_r16_w1" in fig._suptitle.get_text()
    # mean, loss against k x I_cell, std: three heat maps over the (k, q) grid
    meshes = [a.collections[0] for a in fig.axes if a.get_title()]  # colour bars have no title
    assert len(meshes) == 3
    b = xbarkit.load_bundle(str(py_dir))
    (_, _, ks), (_, _, qs) = b.table("sram8t_r16_w1").axes
    assert all(m.get_array().size == len(ks) * len(qs) for m in meshes)
    np.testing.assert_allclose(meshes[0].get_array().reshape(len(ks), len(qs)),
                               b.table("sram8t_r16_w1").values("mean_A") * 1e6)
    check_png(tmp_path / "lut.png", 1000, 400)
    # the 1-D transfer table: mean with a +-2 std band
    xplot.lut_mean_std(str(py_dir), table="sram8t_r16_w1_transfer", path=tmp_path / "transfer.png")
    check_png(tmp_path / "transfer.png", 500, 350)


def test_psw_curves_from_a_bundle(tmp_path, data_dir):
    xbarkit.characterize(str(data_dir / "mtj_psw_tiny.toml"), str(tmp_path / "psw"))
    b = xbarkit.load_bundle(str(tmp_path / "psw"))
    assert b.kind == "mtj_psw" and b.tables == ["sot_imtj_typey_psw"]
    fig = xplot.psw_curves(b, path=tmp_path / "psw.png")
    ax = fig.axes[0]
    # two pulses: two error-bar series and their fitted curves (when the fit converged)
    assert sorted(b.fits) == ["sot_imtj_typey_2ns", "sot_imtj_typey_5ns"]
    assert len(ax.containers) == 2
    fitted = [l for l in ax.lines if l.get_label().startswith("fit")]
    assert len(fitted) == 2 and all(len(l.get_xdata()) == 300 for l in fitted)
    # the drawn curve is the bundle's fit: at I50 it passes through 1/2
    x50 = b.fits["sot_imtj_typey_2ns"]["params"]["x50"]
    np.testing.assert_allclose(b.evaluate_fit("sot_imtj_typey_2ns", x50), 0.5, rtol=1e-12)
    check_png(tmp_path / "psw.png", 600, 400)


def test_psw_result(tmp_path):
    ic0 = xbarkit.mtj_device("sot_imtj_typey")["ic0_A"]
    r = xbarkit.mtj_psw("sot_imtj_typey", np.linspace(0.8, 1.5, 8) * ic0, 2e-9, trials=24, seed=2)
    assert r["fit"]["ok"]
    xplot.psw_result(r, path=tmp_path / "r.png")
    check_png(tmp_path / "r.png", 600, 400)


def _infer_json(tmp_path, name, *args):
    from conftest import run_cli

    _, out, _ = run_cli("infer", "--network", SOURCE_DIR / "models/networks/bnn_mlp", "--images", 150, "--rows", 16,
                        *args, "--json")
    path = tmp_path / f"{name}.json"
    path.write_text(out)
    return path


def test_accuracy_vs_sampling_length_and_the_cli(tmp_path):
    # StoX-Net's ideal stochastic converter: accuracy rises with the samples per read
    docs = [_infer_json(tmp_path, f"L{L}", "--converter", f"mtj:stox:{L}") for L in (1, 4, 16)]
    fig = xplot.accuracy_sweep(docs, x="sampling_length", path=tmp_path / "acc.png")
    ax = fig.axes[0]
    curve = [l for l in ax.lines if l.get_marker() == "o"]
    assert len(curve) == 1 and list(curve[0].get_xdata()) == [1, 4, 16]
    acc = [json.loads(p.read_text())["accuracy"] for p in docs]
    np.testing.assert_allclose(curve[0].get_ydata(), 100 * np.array(acc))
    assert acc[0] < acc[2]  # one sample of a logistic is a coin flip near zero: L = 1 is the worst
    check_png(tmp_path / "acc.png", 700, 450)
    # the same figure from `xbarkit plot` (the C++ CLI runs the module); bad input exits 1
    out = tmp_path / "acc_cli.svg"
    p = subprocess.run([str(cli_path()), "plot", "accuracy", *map(str, docs), "--x", "sampling_length", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert out.read_text().lstrip().startswith("<?xml") and out.stat().st_size > 10_000
    for bad in (["accuracy", str(tmp_path / "nope.json"), "-o", str(out)],  # missing file
                ["accuracy", str(docs[0]), "--x", "rows_per_tile", "-o", str(out)],  # argparse usage error
                ["energy", str(docs[0]), "-o", str(out)]):  # no --read-lut costs in the document
        p = subprocess.run([str(cli_path()), "plot", *bad], capture_output=True, text=True, timeout=120)
        assert p.returncode == 1 and "Traceback" not in p.stderr, (bad, p.returncode, p.stderr)


def test_energy_breakdown(tmp_path, data_dir):
    from conftest import run_cli

    bundle = tmp_path / "read"
    run_cli("characterize", data_dir / "array_read_tiny.toml", "-o", bundle, "--no-progress")
    docs = [_infer_json(tmp_path, "adc", "--read-lut", bundle),
            _infer_json(tmp_path, "mtj4", "--read-lut", bundle, "--converter", "mtj:stox:4")]
    fig = xplot.energy_breakdown(docs, labels=["ADC", "MTJ L=4"], path=tmp_path / "energy.png")
    shares, log_axis = fig.axes
    # shares: every bar stack sums to 100 %; the log panel's bar heights are the documents' totals in pJ
    for i in range(2):
        stack = [r.get_height() for r in shares.patches if abs(r.get_x() + r.get_width() / 2 - i) < 1e-9]
        assert len(stack) == 4 and abs(sum(stack) - 100) < 1e-9
    d = json.loads(docs[1].read_text())
    heights = sorted(r.get_height() for r in log_axis.patches)
    assert any(abs(h - d["breakdown"]["total"]["converters_J"] * 1e12) < 1e-9 * h for h in heights)
    assert log_axis.get_yscale() == "log"
    check_png(tmp_path / "energy.png", 1000, 450)
