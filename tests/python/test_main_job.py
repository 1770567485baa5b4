"""The main job (xbarkit run, issue 18): its report's numbers for a configuration are what `xbarkit
infer` prints for the same configuration (same images, same options, same bundles), including the
staged image counts (a configuration moved from 20 to 60 images equals a fresh 60-image run) and the
energy, latency and area of `infer --read-lut`; the report names its bundles by their SHA-256 and
embeds both figures. Tiny recipes (16 rows) and the MLP keep it to seconds."""
import hashlib
import json
from pathlib import Path

from conftest import run_cli, DATA_DIR, SOURCE_DIR

MLP = SOURCE_DIR / "models/networks/bnn_mlp"


def test_report_equals_infer(tmp_path):
    cache = tmp_path / "cache"
    _, out, err = run_cli("run", "--recipe", DATA_DIR / "array_ps_tiny.toml", "--read-recipe",
                          DATA_DIR / "array_read_tiny.toml", "--network", MLP, "--hw-network", "none", "--cells",
                          "sram8t", "--rows", 16, "--wire-scales", "1,4", "--converters", "ideal,calibrated,adc3", "--stages",
                          "20,60", "--calibration-images", 20, "--cache", cache, "--threads", 2, "--no-progress",
                          "--json")
    doc = json.loads(out)
    assert "largest tile within 1 point" in err
    # 2 wire scales x 3 converters x 4 mappings (no hardware-aware network)
    assert len(doc["configurations"]) == 24
    # adc3: per slice and tile height a 3-bit ADC spanning the rows (AND) and one spanning half of
    # them (XNOR columns conduct at most rows / 2 cells), named in the report with their hashes
    adcs = [a for b in doc["bundles"] for a in b.get("adc", [])]
    assert len(adcs) == 4 and all(a["bits"] == 3 and a["rows"] == 16 for a in adcs)
    assert sorted(a["max_count"] for a in adcs) == [8, 8, 16, 16]
    for c in doc["configurations"]:
        if c["converter_spec"] == "adc3":
            span = json.loads((Path(c["adc_bundle"]) / "lut.json").read_text())["info"]["max_count"]
            assert span == (8 if c["config"]["mapping"] == "xnor" else 16), c["name"]
    for a in adcs:
        assert hashlib.sha256((Path(a["adc"]) / "lut.json").read_bytes()).hexdigest() == a["adc_sha256"]
    report = (cache / "report.md").read_text()
    for b in doc["bundles"]:
        for kind in ("array_ps", "array_read"):
            sha = hashlib.sha256((Path(b[kind]) / "lut.json").read_bytes()).hexdigest()
            assert b[kind + "_sha256"] == sha and sha in report
    assert "![accuracy over rows x wire scale](report_accuracy_grid.png)" in report
    assert "![accuracy vs energy](report_accuracy_vs_energy.png)" in report
    assert (cache / "report_accuracy_grid.png").stat().st_size > 10_000
    assert (cache / "report_accuracy_vs_energy.png").stat().st_size > 10_000
    assert doc["command"] in report

    # Configurations run to the last stage (60 images) and one stopped at 20 if any: each must equal
    # infer on its own image count. The data-aware rule exercises the most (flips chosen on training
    # images, reused across the stages).
    picked = [c for c in doc["configurations"] if c["mapping_key"] == "and_static_data"]
    picked += [c for c in doc["configurations"] if c["images"] == 20][:1]
    picked += [c for c in doc["configurations"] if c["converter_spec"] == "adc3" and c["mapping_key"] == "xnor"]
    assert picked and picked[0]["image_stages"][-1] == 60
    for c in picked:
        cfg = c["config"]
        _, out, _ = run_cli("infer", "--network", MLP, "--rows", cfg["rows"], "--mapping", cfg["mapping"],
                            "--binsparx", cfg["binsparx"], "--array-lut", c["array_lut"], "--read-lut", c["read_lut"],
                            "--converter", "adc:" + c["adc_bundle"] if "adc_bundle" in c else c["converter_spec"],
                            "--cell", cfg["cell"], "--wire-scale",
                            cfg["wire_scale"], "--images", c["images"], "--calibration-images", 20, "--guard-images",
                            doc["guard_images"], "--threads", 1, "--no-progress", "--json")
        inf = json.loads(out)
        # Exact equality: the same images, seeds and code path (thread count does not matter).
        for key in ("accuracy", "images", "conducting_per_weight", "ps_rmse", "energy_per_image_J",
                    "latency_per_image_s", "area_m2", "agreement_with_software"):
            assert c[key] == inf[key], (key, c["name"], cfg)
        assert c["config"]["lut_table"] == inf["config"]["lut_table"]
        if "binsparx_calibration" in c:  # the data-aware flips' guard decided alike
            assert c["binsparx_calibration"]["guard"] == inf["binsparx_calibration"]["guard"]
        # the drop is software minus crossbar accuracy on the same images
        assert abs(c["drop"] - (c["software_accuracy"] - c["accuracy"])) < 1e-12

    # A 3-bit ADC is costed as 3 bits, not at the full precision (5 bits at 16 rows) of the other
    # converters: same array and reads per image, so every adc3 configuration costs less.
    for c in doc["configurations"]:
        if c["converter_spec"] != "adc3":
            continue
        twin = next(d for d in doc["configurations"] if d["converter_spec"] == "calibrated"
                    and d["mapping_key"] == c["mapping_key"] and d["config"]["wire_scale"] == c["config"]["wire_scale"])
        assert c["energy_per_image_J"] < twin["energy_per_image_J"], (c["name"], c["config"])

    # Every (cell, converter, wire scale) row names a tile or, when none stays within one point,
    # the configuration that came closest (the smallest drop among its configurations).
    for a in doc["answers"]:
        mine = [c for c in doc["configurations"] if c["config"]["cell"] == a["cell"]
                and c["converter_spec"] == a["converter"] and c["config"]["wire_scale"] == a["wire_scale"]]
        if a["rows"] is None:
            assert a["closest"]["drop"] == min(c["drop"] for c in mine) > 0.01
        else:
            assert a["drop"] <= 0.01


def test_report_must_be_markdown(tmp_path):
    # The results go beside the report as .json: a .json report would be overwritten by them.
    code, _, err = run_cli("run", "--report", tmp_path / "r.json", "--cache", tmp_path / "c", check=False)
    assert code == 1 and "--report" in err and ".md" in err
    assert not (tmp_path / "c").exists()


def test_figures_need_no_extension(tmp_path):
    # scripts/run.sh builds only the command-line tool: the main job's figures (and every figure of a
    # JSON document) must be drawn by the pure-Python modules alone, and a name of the extension must
    # say how to build it instead of failing at `import xbarkit`.
    import shutil
    import subprocess
    import sys

    import xbarkit

    cache = tmp_path / "cache"
    run_cli("run", "--recipe", DATA_DIR / "array_ps_tiny.toml", "--read-recipe", DATA_DIR / "array_read_tiny.toml",
            "--network", MLP, "--hw-network", "none", "--cells", "sram8t", "--rows", 16, "--wire-scales", "1",
            "--stages", "20", "--calibration-images", 20, "--cache", cache, "--threads", 2, "--no-progress")
    pure = tmp_path / "pure" / "xbarkit"
    pure.mkdir(parents=True)
    for f in Path(xbarkit.__file__).parent.glob("*.py"):
        shutil.copy(f, pure / f.name)
    env = {"PYTHONPATH": str(pure.parent), "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}

    def plot(*args):
        return subprocess.run([sys.executable, "-m", "xbarkit.plot", *map(str, args)], capture_output=True, text=True,
                              timeout=120, env=env)

    for kind in ("grid", "pareto"):
        p = plot("main-job", cache / "report.json", "--figure", kind, "-o", tmp_path / f"{kind}.png")
        assert p.returncode == 0, p.stderr
        assert (tmp_path / f"{kind}.png").stat().st_size > 10_000
    p = plot("ir-map", SOURCE_DIR / "netlists/sram8t_7nm_32x32.toml", "-o", tmp_path / "ir.png")
    assert p.returncode == 1 and p.stderr.startswith("xbarkit plot: error: ") and "scripts/setup.sh" in p.stderr, p.stderr
    assert not (tmp_path / "ir.png").exists()
    p = subprocess.run([sys.executable, "-c", "import xbarkit; assert not hasattr(xbarkit, 'solve'); xbarkit.Crossbar"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 1 and "AttributeError: xbarkit.Crossbar:" in p.stderr and "not built" in p.stderr, p.stderr


def test_unknown_converter_refused_before_work(tmp_path):
    # adcN takes N = 1..12; anything else that names no converter is refused before characterizing.
    for conv in ("adc0", "adc13", "adc4x", "flash"):
        code, _, err = run_cli("run", "--quick", "--converters", conv, "--cache", tmp_path / "c", check=False)
        assert code == 1 and "--converters" in err and conv in err and "adcN" in err, err
        assert not (tmp_path / "c").exists()
