"""Characterization and array_ps bundles from Python against the CLI and the native solver."""
import numpy as np
import pytest

import xbarkit

ROWS = 16


def test_characterize_summary_and_bundle(bundles):
    summary, py_dir, _ = bundles
    assert summary["output"] == str(py_dir)
    assert summary["points"] > 0 and summary["computed"] == summary["points"] and summary["failed"] == 0
    b = xbarkit.load_bundle(str(py_dir))
    assert b.kind == "array_ps"
    assert "sram8t_r16_w1" in b.tables and "sram8t_r16_w1_transfer" in b.tables
    assert b.provenance["recipe_sha256"]


def test_python_bundle_equals_cli_bundle(bundles):
    _, py_dir, cli_dir = bundles
    a, b = xbarkit.load_bundle(str(py_dir)), xbarkit.load_bundle(str(cli_dir))
    assert a.tables == b.tables
    for name in a.tables:
        ta, tb = a.table(name), b.table(name)
        for (na, ua, pa), (nb, ub, pb) in zip(ta.axes, tb.axes):
            assert (na, ua) == (nb, ub)
            np.testing.assert_array_equal(pa, pb)
        for col, _ in ta.columns:
            # the same recipe and seed: the sweep is deterministic, so the tables are identical
            np.testing.assert_array_equal(ta.values(col), tb.values(col))


def bottom_block(k, rows=ROWS, cols=3):
    """k conducting cells in the rows nearest the sense end in every column: the least-loss
    placement, q = 0 (lut/array_ps.hpp)."""
    inputs = np.ones(rows, dtype=np.uint8)
    weights = np.zeros((rows, cols), dtype=np.uint8)
    if k:
        weights[rows - k:, :] = 1
    return inputs, weights


def test_predict_at_grid_nodes_equals_the_table(bundles):
    _, _, cli_dir = bundles
    lut = xbarkit.ArrayLut(str(cli_dir))
    cfg = lut.find("sram8t", ROWS)
    assert cfg["table"] == "sram8t_r16_w1" and cfg["axes"] == ["k", "q"]
    table = lut.bundle.table(cfg["table"])
    (_, _, k_axis), (_, _, q_axis) = table.axes
    mean, std = table.values("mean_A"), table.values("std_A")
    assert q_axis[0] == 0.0 and 0.5 in q_axis
    for k in (0, 1, 5, 15, 16):
        i = int(np.flatnonzero(k_axis == k)[0])
        inputs, weights = bottom_block(k)
        # k = 0 and k = rows have one placement only: q is 0.5 by definition (LoadNormalizer)
        q = 0.5 if k in (0, ROWS) else 0.0
        j = int(np.flatnonzero(q_axis == q)[0])
        np.testing.assert_array_equal(lut.coordinates(inputs, weights), np.tile([k, q], (3, 1)))
        m, s = lut.predict(inputs, weights, cell="sram8t")
        np.testing.assert_array_equal(m, mean[i, j])
        np.testing.assert_array_equal(s, std[i, j])
    # the least-loss placement reads more current than the most-loss one (block at the top, q = 1)
    inputs, weights = bottom_block(8)
    top = np.zeros_like(weights)
    top[:8] = 1
    np.testing.assert_array_equal(lut.coordinates(inputs, top)[:, 1], 1.0)
    assert np.all(lut.predict(inputs, weights)[0] > lut.predict(inputs, top)[0])


def test_predict_agrees_with_the_native_solver(bundles):
    """The LUT's mean for fresh random columns is within its own +-4 std band of the native
    solver's current (the held-out check of the bundle measures the same: coverage ~95% at 2 std)."""
    _, py_dir, _ = bundles
    lut = xbarkit.ArrayLut(str(py_dir))
    rng = np.random.default_rng(3)
    inputs = (rng.random(ROWS) < 0.7).astype(np.uint8)
    weights = (rng.random((ROWS, ROWS)) < 0.6).astype(np.uint8)
    mean, std = lut.predict(inputs, weights)
    exact = xbarkit.solve(xbarkit.Crossbar("sram8t", inputs, weights), engine="native").column_current_A
    full_scale = lut.find("sram8t", ROWS)["full_scale_A"]
    assert np.all(np.abs(mean - exact) <= 4 * std + 1e-3 * full_scale)


def test_batched_predict_and_sample(bundles):
    _, py_dir, _ = bundles
    lut = xbarkit.ArrayLut(str(py_dir))
    rng = np.random.default_rng(8)
    batch = (rng.random((5, ROWS)) < 0.5).astype(np.uint8)
    weights = (rng.random((ROWS, 7)) < 0.5).astype(np.uint8)
    mean, std = lut.predict(batch, weights)
    assert mean.shape == (5, 7) and std.shape == (5, 7)
    for b in range(5):
        m1, s1 = lut.predict(batch[b], weights)
        np.testing.assert_array_equal(mean[b], m1)
        np.testing.assert_array_equal(std[b], s1)
    # sampling: deterministic per seed, element b from stream (seed, b) whatever the batch
    a = lut.sample(batch, weights, seed=4)
    np.testing.assert_array_equal(a, lut.sample(batch, weights, seed=4))
    np.testing.assert_array_equal(a[:3], lut.sample(batch[:3], weights, seed=4))
    np.testing.assert_array_equal(a[0], lut.sample(batch[0], weights, seed=4))
    assert not np.array_equal(a, lut.sample(batch, weights, seed=5))
    # many draws of one column: mean and std of N(mean, std) (truncation at 0 is negligible at
    # mean >> std), within 5 standard errors
    inputs, w = bottom_block(8, cols=1)
    many = np.repeat(inputs[None, :], 4000, axis=0)
    draws = lut.sample(many, w, seed=1)[:, 0]
    m, s = lut.predict(inputs, w)
    assert s[0] > 0 and m[0] > 10 * s[0]
    assert abs(draws.mean() - m[0]) < 5 * s[0] / np.sqrt(4000)
    assert abs(draws.std() - s[0]) < 5 * s[0] / np.sqrt(2 * 4000)


def test_table_interpolation(bundles):
    _, py_dir, _ = bundles
    t = xbarkit.load_bundle(str(py_dir)).table("sram8t_r16_w1")
    (_, _, ks), (_, _, qs) = t.axes
    mean = t.values("mean_A")
    # at a node: the node's value; between two k nodes at fixed q: their average (linear)
    assert t.interpolate([ks[3], qs[2]], "mean_A") == mean[3, 2]
    mid = t.interpolate([[0.5 * (ks[3] + ks[4]), qs[2]]], "mean_A")
    np.testing.assert_allclose(mid, [0.5 * (mean[3, 2] + mean[4, 2])], rtol=1e-14)
    with pytest.raises(xbarkit.Error, match="q"):
        t.interpolate([ks[0], 2.0], "mean_A", out_of_range="error")
