"""Networks, eval and crossbar inference from Python against `xbarkit eval` / `xbarkit infer`."""
import numpy as np
import pytest

import xbarkit
from conftest import cli_json, run_cli

MLP = "models/networks/bnn_mlp"
IMAGES = 300


@pytest.fixture(scope="module")
def mlp():
    return xbarkit.load_network(MLP)


def test_network_loads_from_any_directory(mlp, source_dir):
    assert mlp.name and mlp.path == str(source_dir / MLP)
    assert mlp.input_shape == (1, 28, 28) and mlp.classes == 10
    layers = mlp.layers
    assert [l["fan_in"] for l in layers] == [784, 512, 512]
    assert [l["binary"] for l in layers] == [False, True, True] and layers[-1]["is_output"]


def test_eval_equals_cli(mlp, source_dir):
    r = mlp.eval(images=IMAGES)
    ref = cli_json("eval", source_dir / (MLP + ".toml"), "--images", IMAGES)
    for key in ("images", "correct", "accuracy", "dataset"):
        assert r[key] == ref[key], key
    assert r["predictions"].shape == (IMAGES,)


def test_predict_on_loaded_images_matches_eval(mlp):
    images, labels = xbarkit.load_fashion_mnist()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8 and labels.shape == (10000,)
    p = mlp.predict(images[:IMAGES])
    np.testing.assert_array_equal(p, mlp.eval(images=IMAGES)["predictions"])
    assert (p == labels[:IMAGES]).mean() == mlp.eval(images=IMAGES)["accuracy"]
    # the flat layout and the channel layout give the same answers; logits' argmax is the prediction
    np.testing.assert_array_equal(mlp.predict(images[:20].reshape(20, 784)), p[:20])
    np.testing.assert_array_equal(mlp.predict(images[:20, None]), p[:20])
    assert int(np.argmax(mlp.logits(images[:1]))) == p[0]


def test_ideal_crossbar_infer_equals_cli_and_software(mlp):
    r = xbarkit.infer(MLP, rows=64, images=IMAGES)
    ref = cli_json("infer", "--network", MLP, "--rows", 64, "--images", IMAGES)
    assert r["accuracy"] == ref["accuracy"] and r["config"] == ref["config"]
    # an ideal crossbar computes the exact binary products: the software network's answers
    assert r["accuracy"] == r["software_accuracy"] and r["disagreements_with_software"] == 0
    # a loaded Network gives the same result as its path
    assert xbarkit.infer(mlp, rows=64, images=IMAGES)["accuracy"] == r["accuracy"]


def test_lut_infer_equals_cli(bundles):
    _, _, lut_dir = bundles
    # 16-row tiles with 4x the default wire resistance: enough IR drop for partial-sum errors
    args = dict(rows=16, mapping="and", binsparx="both", array_lut=str(lut_dir), converter="calibrated",
                wire_scale=4.0, images=100, seed=3)
    r = xbarkit.infer(MLP, **args)
    ref = cli_json("infer", "--network", MLP, "--rows", 16, "--mapping", "and", "--binsparx", "both",
                   "--array-lut", lut_dir, "--converter", "calibrated", "--wire-scale", 4, "--images", 100,
                   "--seed", 3)
    for key in ("accuracy", "ps_rmse", "conducting_per_weight", "agreement_with_software", "layers", "config"):
        assert r[key] == ref[key], key
    assert r["config"]["sensing"] == "lut" and r["config"]["lut_table"] == "sram8t_r16_w4"
    assert r["ps_rmse"] > 0
    np.testing.assert_array_equal(r["predictions"].shape, (100,))
    # sampled LUT currents: another seed draws other currents, other partial-sum errors (without
    # BinSparX, whose sparser columns leave fewer reads near a decision threshold)
    plain = {**args, "binsparx": "none"}
    a = xbarkit.infer(MLP, **plain)
    assert xbarkit.infer(MLP, **{**plain, "seed": 4})["ps_rmse"] != a["ps_rmse"]
    # the LUT's mean alone (lut_mean) is deterministic: no seed dependence
    mean3 = xbarkit.infer(MLP, **{**plain, "lut_mean": True})
    assert mean3["config"]["lut_noise"] is False
    assert xbarkit.infer(MLP, **{**plain, "lut_mean": True, "seed": 4})["ps_rmse"] == mean3["ps_rmse"]


def test_every_cli_option_equals_cli(bundles, data_dir, tmp_path):
    """The options infer gained after the first binding (chips with variation, corner, data-aware
    BinSparX, costs from an array_read bundle) give the CLI's document; bad values are refused with
    the CLI's messages."""
    from conftest import run_cli

    _, _, lut_dir = bundles
    read = tmp_path / "read"
    run_cli("characterize", data_dir / "array_read_tiny.toml", "-o", read, "--no-progress")
    cases = [
        (dict(binsparx="static-data", mapping="and", array_lut=str(lut_dir), calibration_images=50),
         ["--binsparx", "static-data", "--mapping", "and", "--array-lut", lut_dir, "--calibration-images", 50]),
        (dict(read_lut=str(read), converter="mtj:stox:4", adc_bits=4),
         ["--read-lut", read, "--converter", "mtj:stox:4", "--adc-bits", 4]),
        (dict(exact=True, variation=1.0, chips=2, chip_seed=3, corner="ss"),
         ["--exact", "--variation", 1, "--chips", 2, "--chip-seed", 3, "--corner", "ss"]),
    ]
    for py_opts, cli_args in cases:
        images = 4 if py_opts.get("exact") else 100  # the exact solver: ~1 s per image and chip
        r = xbarkit.infer(MLP, rows=16, images=images, threads=2, **py_opts)
        ref = cli_json("infer", "--network", MLP, "--rows", 16, "--images", images, "--threads", 2, *cli_args)
        assert r["accuracy"] == ref["accuracy"], py_opts
        for key in ("chips", "energy_per_image_J", "breakdown", "config"):
            if key in ref:
                if key == "chips":  # wall-clock seconds differ between the two runs
                    r[key].pop("seconds"), ref[key].pop("seconds")
                assert r[key] == ref[key], (key, py_opts)
        assert ("chips" in r) == ("chips" in py_opts) and ("energy_per_image_J" in r) == ("read_lut" in py_opts)
    with pytest.raises(ValueError, match="chips: expected >= 1"):
        xbarkit.infer(MLP, rows=16, images=10, chips=0)
    with pytest.raises(ValueError, match="chips"):
        xbarkit.infer(MLP, rows=16, images=10, chips=3)  # chips without variation
    with pytest.raises(ValueError, match="corner"):
        xbarkit.infer(MLP, rows=16, images=10, exact=True, corner="warm")
    with pytest.raises(ValueError, match="binsparx: expected one of"):
        xbarkit.infer(MLP, rows=16, images=10, binsparx="sometimes")


def test_recalibrate_bn_refusals():
    # Batch-norm recalibration on the crossbar is for binary networks on one chip, with flips that do
    # not depend on the activations it changes; each combination it cannot honour is refused.
    for args, needle in ((["--cell", "pcm", "--network", "models/networks/resnet_fmnist"], "--bn-update"),
                         (["--binsparx", "static-data", "--calibration-images", 10], "data-aware"),
                         (["--chips", 2, "--variation", 1, "--exact"], "one chip")):
        code, _, err = run_cli("infer", "--recalibrate-bn", 10, "--images", 5, *args, check=False)
        assert code == 1 and "--recalibrate-bn" in err and needle in err, err
    code, _, err = run_cli("infer", "--programming-seed", 3, "--images", 5, check=False)
    assert code == 1 and "--cell pcm" in err


def test_guard_images_refusal():
    # The guard runs the training images after the calibration ones: asking for more than the set
    # holds is refused before any work, naming the option and the set.
    code, _, err = run_cli("infer", "--mapping", "and", "--binsparx", "static-data", "--calibration-images", 59_900,
                           "--guard-images", 200, "--images", 5, check=False)
    assert code == 1 and "--guard-images" in err and "60000" in err and "Traceback" not in err, err
