"""SOT-MTJ switching Monte Carlo from Python against `xbarkit mtj psw`."""
import numpy as np

import xbarkit
from conftest import cli_json


def test_device_quantities():
    d = xbarkit.mtj_device("sot_pma_7nm")
    assert d["name"] == "sot_pma_7nm" and d["ic0_A"] > 0 and d["delta"] > 10 and d["default_dt_s"] > 0


def test_psw_equals_cli():
    ic0 = xbarkit.mtj_device("sot_pma_7nm")["ic0_A"]
    currents = [round(f * ic0, 9) for f in (0.6, 1.0, 1.4)]
    r = xbarkit.mtj_psw("sot_pma_7nm", currents, 2e-9, trials=16, seed=3, threads=1)
    ref = cli_json("mtj", "psw", "sot_pma_7nm", "--currents", ",".join(repr(c) for c in currents), "--pulse", "2n",
                   "--trials", 16, "--seed", 3)
    np.testing.assert_array_equal(r["current_A"], [p["current_A"] for p in ref["points"]])
    np.testing.assert_array_equal(r["p_switch"], [p["p_switch"] for p in ref["points"]])
    np.testing.assert_array_equal(r["switched"], [p["switched"] for p in ref["points"]])
    for key in ("dt_s", "relax_s", "from", "trials", "seed"):
        assert r[key] == ref[key], key
    assert r["fit"] == ref["fit"]
    # outcomes: one flag per trajectory, their sums are the switched counts
    assert r["outcomes"].shape == (3, 16)
    np.testing.assert_array_equal(r["outcomes"].sum(axis=1), r["switched"])
    # binomial standard error of each point
    p = r["p_switch"]
    np.testing.assert_allclose(r["stderr"], np.sqrt(p * (1 - p) / 16), rtol=1e-12)


def test_psw_is_independent_of_threads():
    ic0 = xbarkit.mtj_device("sot_pma_7nm")["ic0_A"]
    a = xbarkit.mtj_psw("sot_pma_7nm", [ic0], 2e-9, trials=12, seed=9, threads=1)
    b = xbarkit.mtj_psw("sot_pma_7nm", [ic0], 2e-9, trials=12, seed=9, threads=2)
    np.testing.assert_array_equal(a["outcomes"], b["outcomes"])


def test_long_calls_release_the_gil():
    """While a Monte Carlo runs in another thread, this thread keeps executing Python. With the GIL
    held by the call, this thread could run at most one switch interval (5 ms) of it; released, it
    runs for (nearly) the whole call."""
    import sys
    import threading
    import time

    ic0 = xbarkit.mtj_device("sot_imtj_typey")["ic0_A"]
    in_call, done = threading.Event(), threading.Event()
    result = {}

    def work():
        in_call.set()
        result["r"] = xbarkit.mtj_psw("sot_imtj_typey", [ic0, 1.2 * ic0], 5e-9, trials=160, seed=1, threads=1)
        done.set()

    # this thread's loop rate alone
    ticks, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.05:
        ticks += 1
    rate = ticks / (time.perf_counter() - t0)

    t = threading.Thread(target=work)
    ticks = 0
    t.start()
    while not done.is_set():
        if in_call.is_set():
            ticks += 1
    t.join()
    seconds = result["r"]["seconds"]
    assert seconds > 0.1, seconds
    held_bound = rate * sys.getswitchinterval()
    assert ticks > 10 * held_bound, (ticks, rate, seconds)
