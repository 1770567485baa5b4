"""Crossbars and solves from Python against the CLI's `solve` on the same inputs."""
import csv

import numpy as np
import pytest

import xbarkit
from conftest import cli_json, run_cli


def test_cells_lists_the_registered_kinds():
    kinds = xbarkit.cells()
    for name in ("sram8t", "rram1t1r", "passive"):
        assert name in kinds and kinds[name]


def test_recipe_loads_with_its_stimulus(source_dir):
    x = xbarkit.load_recipe(str(source_dir / "netlists/sram8t_7nm_32x32.toml"))
    assert (x.cell, x.rows, x.cols) == ("sram8t", 32, 32)
    assert x.inputs.shape == (32,) and x.weights.shape == (32, 32)
    assert x.r_bitline_ohm == 8.3 and x.r_wordline_ohm == 23.0 and x.v_read_V == 0.3
    # density 0.5 random stimulus: both values occur
    assert 0 < x.weights.sum() < 32 * 32
    np.testing.assert_array_equal(x.conducting_cells(), (x.inputs[:, None] & x.weights).sum(axis=0))


@pytest.mark.parametrize("recipe", ["sram8t_7nm_32x32.toml", "rram1t1r_7nm_16x16.toml", "passive_7nm_16x16.toml"])
def test_native_solve_equals_cli(source_dir, recipe):
    path = source_dir / "netlists" / recipe
    x = xbarkit.load_recipe(str(path))
    s = xbarkit.solve(x, engine="native")
    ref = cli_json("solve", path, "--engine", "native")
    # The same library call on the same circuit; the CLI prints 17 significant digits (round trip),
    # so the currents are bit-identical.
    np.testing.assert_array_equal(s.column_current_A, [c["current_A"] for c in ref["columns"]])
    np.testing.assert_array_equal(s.ideal_column_current_A, [c["current_A"] for c in ref["ideal_columns"]])
    np.testing.assert_array_equal(s.conducting_cells, [c["conducting_cells"] for c in ref["columns"]])
    assert s.newton_iterations == ref["newton_iterations"]


def test_ir_drop_map_equals_cli_map(source_dir, tmp_path):
    path = source_dir / "netlists/sram8t_7nm_32x32.toml"
    x = xbarkit.load_recipe(str(path))
    s = xbarkit.solve(x, engine="native", node_voltages=True)
    assert s.bitline_V.shape == (32, 32) and s.sourceline_V.shape == (32, 32)
    run_cli("solve", path, "--engine", "native", "--map", tmp_path / "map.csv")
    with open(tmp_path / "map.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 32 * 32
    for key in ("bitline_V", "sourceline_V", "internal_V"):
        cli = np.array([float(r[key]) for r in rows]).reshape(32, 32)
        # the CSV holds 12 significant digits: rounding is at most half a unit in the 12th digit
        np.testing.assert_allclose(getattr(s, key), cli, rtol=5.01e-12, atol=0)
    # sram8t: bitline clamped at v_read at the bottom, source line grounded at the bottom; current
    # flows from bitline to source line, so the bitline sags below v_read and the source line rises.
    rails = x.ladder_rails()
    assert rails == {"bitline_terminal": "bottom", "bitline_V": 0.3, "sourceline_V": 0.0}
    assert (s.bitline_V <= 0.3 + 1e-12).all() and (s.sourceline_V >= -1e-12).all()
    assert s.bitline_V.min() < 0.3 - 1e-4


def test_crossbar_from_arrays_equals_recipe(source_dir):
    rec = xbarkit.load_recipe(str(source_dir / "netlists/sram8t_7nm_32x32.toml"))
    x = xbarkit.Crossbar("sram8t", rec.inputs, rec.weights.astype(bool), r_bitline_ohm=8.3, r_sourceline_ohm=8.3,
                         r_wordline_ohm=23.0, v_read_V=0.3)
    np.testing.assert_array_equal(xbarkit.solve(x).column_current_A, xbarkit.solve(rec).column_current_A)
    # the technology defaults of sram8t are the recipe's values, so omitting them changes nothing
    y = xbarkit.Crossbar("sram8t", rec.inputs, rec.weights)
    assert (y.r_bitline_ohm, y.r_sourceline_ohm, y.r_wordline_ohm, y.v_read_V) == (8.3, 8.3, 23.0, 0.3)
    # wire_scale multiplies every wire: 0 is the ideal array
    z = xbarkit.Crossbar("sram8t", rec.inputs, rec.weights, wire_scale=0.0)
    np.testing.assert_array_equal(xbarkit.solve(z).column_current_A, xbarkit.solve(rec).ideal_column_current_A)


def test_ideal_array_is_k_times_the_cell_current():
    rng = np.random.default_rng(5)
    inputs = rng.integers(0, 2, 24)
    weights = rng.integers(0, 2, (24, 6))
    x = xbarkit.Crossbar("sram8t", inputs, weights, wire_scale=0.0)
    i_cell = xbarkit.cell_current(x)
    s = xbarkit.solve(x, ideal=False)
    assert s.ideal_column_current_A is None
    # zero-wire columns: every conducting cell sees the same voltages; non-conducting cells leak
    # (off-state currents are orders below I_cell), hence the relative tolerance
    np.testing.assert_allclose(s.column_current_A, x.conducting_cells() * i_cell, rtol=1e-3, atol=1e-3 * i_cell)


def write_recipe(path, cell, inputs, weights, r_ohm):
    with open(path.with_suffix(".weights"), "w") as f:
        for row in weights:
            f.write("".join(str(int(b)) for b in row) + "\n")
    path.write_text(
        f'[array]\nrows = {weights.shape[0]}\ncols = {weights.shape[1]}\ncell = "{cell}"\ntech = "7nm"\n'
        f"[parasitics]\nr_bitline = {r_ohm}\nr_sourceline = {r_ohm}\nr_wordline = {r_ohm}\n"
        f'[stimulus]\ninputs = "{"".join(str(int(b)) for b in inputs)}"\nweights = "{path.with_suffix(".weights").name}"\n'
    )


def test_ngspice_solve_equals_cli_and_native(tmp_path):
    rng = np.random.default_rng(11)
    inputs = rng.integers(0, 2, 8)
    inputs[0] = 1
    weights = rng.integers(0, 2, (8, 4))
    recipe = tmp_path / "small.toml"
    write_recipe(recipe, "sram8t", inputs, weights, 20.0)
    x = xbarkit.Crossbar("sram8t", inputs, weights, r_bitline_ohm=20.0, r_sourceline_ohm=20.0, r_wordline_ohm=20.0)
    np.testing.assert_array_equal(xbarkit.load_recipe(str(recipe)).weights, weights)
    s = xbarkit.solve(x, engine="ngspice")
    assert s.engine == "ngspice" and s.bitline_V is None and s.op_method
    ref = cli_json("solve", recipe, "--engine", "ngspice")
    # the same deck in the same ngspice build: identical up to the last printed digit
    np.testing.assert_allclose(s.column_current_A, [c["current_A"] for c in ref["columns"]], rtol=1e-12, atol=0)
    np.testing.assert_allclose(s.ideal_column_current_A, [c["current_A"] for c in ref["ideal_columns"]], rtol=1e-12)
    # native vs ngspice: docs/VALIDATION.md finds 1e-11..1e-13 per column; the deck's reltol is 1e-7
    native = xbarkit.solve(x, engine="native")
    scale = np.abs(s.column_current_A).max()
    np.testing.assert_allclose(native.column_current_A, s.column_current_A, rtol=1e-6, atol=1e-6 * scale)


def test_netlist_is_the_cli_deck(source_dir):
    path = source_dir / "netlists/sram8t_7nm_32x32.toml"
    deck = xbarkit.load_recipe(str(path)).netlist(title=path.name)
    assert deck == run_cli("netlist", path)[1]
    assert "VSENSE31" in deck.upper()
    assert xbarkit.load_recipe(str(path)).netlist().startswith("* xbarkit crossbar: sram8t 32x32")
