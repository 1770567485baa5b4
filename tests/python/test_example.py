"""examples/quickstart.py runs as a new user would run it (small sizes)."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")


def test_quickstart(source_dir, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, str(source_dir / "examples/quickstart.py"), "--out", str(tmp_path),
                        "--train-images", "1500", "--test-images", "300", "--epochs", "2", "--hidden", "32"],
                       capture_output=True, text=True, timeout=110, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert [l[:2] for l in lines[:2]] == ["1.", "2."]
    accuracy = float(lines[-1].split()[-1])
    # ten classes: chance is 0.1; even this tiny run with LUT-sampled currents learns far beyond it
    assert accuracy > 0.4, p.stdout
    for png in ("ir_drop.png", "lut.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    assert (tmp_path / "array_ps_32" / "lut.json").exists()
