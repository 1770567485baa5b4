"""The CLI's output conventions: --json prints exactly one JSON document on stdout (logs and progress
on stderr), the documented exit statuses, and progress that suits batch logs."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import cli_path, run_cli, DATA_DIR, SOURCE_DIR

MLP = SOURCE_DIR / "models/networks/bnn_mlp"


def run_raw(*args):
    """(exit status, stdout, stderr) as bytes: text mode would turn '\\r' into '\\n'."""
    p = subprocess.run([str(cli_path()), *map(str, args)], capture_output=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def only_json(*args):
    """Runs `xbarkit ARGS --json`; stdout must be one JSON document and nothing else (json.loads
    refuses trailing text, a log line before the document, or two documents)."""
    _, out, err = run_cli(*args, "--json")
    try:
        return json.loads(out), err
    except json.JSONDecodeError as e:
        raise AssertionError(f"stdout of xbarkit {' '.join(map(str, args))} --json is not one JSON document ({e}):\n{out[:2000]}")


def test_solve_both_engines(tmp_path):
    doc, _ = only_json("solve", SOURCE_DIR / "netlists/rram1t1r_7nm_16x16.toml", "--engine", "both")
    assert isinstance(doc, dict) and doc


def test_characterize_lut_and_infer(tmp_path):
    bundle = tmp_path / "b"
    doc, _ = only_json("characterize", DATA_DIR / "array_ps_tiny.toml", "-o", bundle)
    assert doc["mode"] == "run" and doc["kind"] == "array_ps"
    assert doc["points"] == doc["computed"] > 0 and doc["failed"] == 0 and doc["failed_ids"] == []
    assert 0 <= doc["validation"]["nrmse_mean"] < 0.05  # the tiny recipe's held-out check (as in test_bundle)
    # A second run is refused (the bundle exists): an input error, status 1, message on stderr.
    code, out, err = run_cli("characterize", DATA_DIR / "array_ps_tiny.toml", "-o", bundle, "--json", check=False)
    assert code == 1 and out == "" and err.startswith("xbarkit: error: ")
    for sub in ("check", "show"):
        doc, _ = only_json("lut", sub, bundle)
        assert doc
    code, out, err = run_raw("infer", "--network", MLP, "--images", 60, "--rows", 16, "--array-lut", bundle,
                             "--progress", "bar", "--json")
    assert code == 0 and json.loads(out)["images"] == 60
    assert b"\r[infer] 60/60 images (100%)" in err  # the bar went to stderr, not into the document


def test_run_json_is_one_document(tmp_path):
    doc, err = only_json("run", "--recipe", DATA_DIR / "array_ps_tiny.toml", "--read-recipe", "none", "--cells", "sram8t",
                         "--wire-scales", 1, "--rows", 16, "--network", MLP, "--hw-network", "none", "--images", 40,
                         "--cache", tmp_path / "cache", "--threads", 2)
    assert doc["images"] == 40 and len(doc["configurations"]) == 8  # 2 converters x 4 mappings
    assert "software accuracy" in err  # the log is on stderr
    # the report embeds the accuracy grid figure drawn from the results saved beside it
    report = (tmp_path / "cache/report.md").read_text()
    assert "![accuracy over rows x wire scale](report_accuracy_grid.png)" in report
    assert doc["figures"]["grid"] == str(tmp_path / "cache/report_accuracy_grid.png")
    assert (tmp_path / "cache/report_accuracy_grid.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "cache/report.json").read_text())["configurations"] == doc["configurations"]


def test_mtj_eval_models_train(tmp_path):
    doc, _ = only_json("mtj", "info", "sot_imtj_typey")
    assert doc["ic0_A"] > 0
    doc, _ = only_json("mtj", "psw", "sot_imtj_typey", "--currents", "100u:300u:3", "--pulse", "10n", "--trials", 20)
    assert len(doc["points"]) == 3
    doc, _ = only_json("eval", str(MLP) + ".toml", "--images", 100)
    assert doc["images"] == 100
    doc, _ = only_json("models", "check")
    assert all(c["passed"] for c in doc)
    out = tmp_path / "w.safetensors"
    doc, err = only_json("train", str(MLP) + ".toml", "-o", out, "--epochs", 1, "--train-images", 500,
                         "--test-images", 200, "--batch", 100, "--threads", 1)
    assert doc["output"] == str(out) and out.exists() and len(doc["epochs"]) == 1
    assert 0.1 < doc["test_accuracy"] <= 1 and doc["metadata"]["trainer"] == "libtorch"
    assert "training bnn_mlp" in err


def test_usage_and_input_errors_exit_1():
    code, _, err = run_cli("solve", SOURCE_DIR / "netlists/passive_7nm_16x16.toml", "--no-such-option", check=False)
    assert code == 1 and "no-such-option" in err  # CLI11's usage errors map to 1, not 105-109
    code, _, err = run_cli("infer", "--progress", "sometimes", check=False)
    assert code == 1 and "sometimes" in err
    code, _, err = run_cli("solve", "/nonexistent/recipe.toml", check=False)
    assert code == 1
    code, out, _ = run_cli("--help")
    assert code == 0 and "Exit status: 0 success" in out
    code, out, _ = run_cli("infer", "--help")
    assert code == 0 and "130 / 143" in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_exits_128_plus_signal(sig):
    # hours of trajectories if not stopped; the command polls the stop request every few ms
    p = subprocess.Popen([str(cli_path()), "mtj", "psw", "sot_imtj_typey", "--currents", "100u,200u", "--pulse", "2u",
                          "--trials", "1000", "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 128 + sig, err  # the shell's convention: 130 (SIGINT), 143 (SIGTERM)
    assert f"interrupted by signal {int(sig)}" in err and out == ""


def test_progress_in_batch_logs_is_lines():
    # stderr is a pipe here, as in a batch log: the automatic mode writes whole lines (after one
    # interval of work, then every 10% once an interval has passed), never carriage returns. The
    # interval is 0.5 s here (5 s by default) for a run of a few seconds.
    args = ["mtj", "psw", "sot_imtj_typey", "--currents", "100u:300u:8", "--pulse", "10n", "--trials", 300,
            "--threads", 1]
    env = dict(os.environ, XBARKIT_PROGRESS_INTERVAL_S="0.5")
    t0 = time.monotonic()
    p = subprocess.run([str(cli_path()), *map(str, args)], capture_output=True, timeout=300, env=env)
    seconds = time.monotonic() - t0
    assert p.returncode == 0 and b"\r" not in p.stderr
    lines = [l for l in p.stderr.decode().splitlines() if l.startswith("[psw]")]
    assert len(lines) >= 2 and "done" in lines[-1] and "2400/2400 trajectories (100%)" in lines[-1], p.stderr
    # one line per 10% step at most, one per 12 intervals without a step, and the closing line
    assert len(lines) <= 10 + seconds / 6 + 1, (seconds, lines)
    _, _, raw = run_raw(*args[:-4], "--trials", 20, "--no-progress")
    assert raw == b""
