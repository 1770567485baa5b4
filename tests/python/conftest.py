"""Shared fixtures of the Python tests: the CLI next to the extension (CTest passes its path in
XBARKIT_CLI), the source tree, and small characterized bundles made once per test module."""
import json
import os
import pathlib
import subprocess

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("XBARKIT_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"


def cli_path():
    path = os.environ.get("XBARKIT_CLI")
    if path:
        return pathlib.Path(path)
    import xbarkit

    # BUILD/python/xbarkit/__init__.py -> BUILD/xbarkit
    return pathlib.Path(xbarkit.__file__).resolve().parents[2] / "xbarkit"


def run_cli(*args, check=True):
    """Runs the CLI; returns (exit code, stdout, stderr)."""
    p = subprocess.run([str(cli_path()), *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"xbarkit {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def cli_json(*args):
    return json.loads(run_cli(*args, "--json")[1])


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def data_dir():
    return DATA_DIR


@pytest.fixture(scope="session")
def bundles(tmp_path_factory):
    """The tiny array_ps recipe (tests/python/data) characterized by Python and by the CLI:
    (Python's summary, Python's bundle directory, the CLI's bundle directory)."""
    import xbarkit

    root = tmp_path_factory.mktemp("array_ps")
    recipe = DATA_DIR / "array_ps_tiny.toml"
    summary = xbarkit.characterize(str(recipe), str(root / "py"))
    run_cli("characterize", recipe, "-o", root / "cli", "--no-progress")
    return summary, root / "py", root / "cli"
