"""xbarkit.torch: the crossbar product in the forward pass, the straight-through backward."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xbarkit  # noqa: E402
from xbarkit.torch import CrossbarLinear, sign_ste  # noqa: E402
from conftest import cli_json  # noqa: E402


def pm1(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)


def test_sign_ste():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5], requires_grad=True)
    y = sign_ste(x)
    assert y.tolist() == [-1, -1, 1, 1, 1]
    y.backward(torch.arange(5.0))
    # gradient passes where |x| <= 1
    assert x.grad.tolist() == [0, 1, 2, 3, 0]


def test_ideal_hardware_is_the_exact_product():
    layer = CrossbarLinear(40, 6, rows=16)
    x = pm1((9, 40), 1)
    wb = torch.where(layer.weight >= 0, 1.0, -1.0)
    z = layer(x)
    assert z.shape == (9, 6) and z.dtype == x.dtype
    torch.testing.assert_close(z, x @ wb.t(), rtol=0, atol=0)
    soft = CrossbarLinear(40, 6, hardware=False)
    soft.weight.data.copy_(layer.weight.data)
    torch.testing.assert_close(soft(x), z, rtol=0, atol=0)


def test_lut_hardware_equals_crossbar_layer(bundles):
    torch.manual_seed(3)  # the layer's initial weights
    _, _, lut_dir = bundles
    opts = dict(rows=16, array_lut=str(lut_dir), wire_scale=4.0, converter="ideal", seed=7)
    layer = CrossbarLinear(48, 10, **opts).eval()
    x = pm1((20, 48), 2)
    z = layer(x).detach()
    wb = torch.where(layer.weight >= 0, 1, -1).numpy().astype(np.int8)
    ref = xbarkit.CrossbarLayer(wb, **opts).matmul(x.numpy().astype(np.int8))
    # eval mode: the layer's seed, the same draws as the simulator called directly
    np.testing.assert_array_equal(z.numpy().astype(np.int32), ref)
    assert torch.equal(layer(x).detach(), z)
    ideal = (x @ torch.from_numpy(wb).float().t()).numpy()
    # XNOR mapping: each slice's partial sum is 2c - n, so z keeps the parity of N = 48 whatever the
    # converter reads
    assert np.all((z.numpy() - 48) % 2 == 0)
    # IR drop on 16-row tiles with 4x wires, read by an uncalibrated converter, loses counts
    assert np.any(z.numpy() != ideal)
    # training mode keys pass t's row b by derive_seed(t, b), the C++ trainer's keys (whether two passes
    # differ depends on how often the LUT's small spread at 16 rows moves a count: not asserted)
    layer.train()
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    xs = x.numpy().astype(np.int8)
    for t, z_t in ((1, a), (2, b)):
        keys = np.array([xbarkit.derive_seed(t, r) for r in range(len(xs))], np.uint64)
        np.testing.assert_array_equal(z_t.astype(np.int32), xbarkit.CrossbarLayer(wb, **opts).matmul(xs, keys=keys))


def test_straight_through_backward(bundles):
    _, _, lut_dir = bundles
    layer = CrossbarLinear(32, 5, rows=16, array_lut=str(lut_dir))
    x = pm1((7, 32), 3).requires_grad_(True)
    z = layer(x)
    g = torch.randn(z.shape, generator=torch.Generator().manual_seed(4))
    z.backward(g)
    wb = torch.where(layer.weight.detach() >= 0, 1.0, -1.0)
    torch.testing.assert_close(x.grad, g @ wb)
    torch.testing.assert_close(layer.weight.grad, g.t() @ x.detach())
    layer.weight.data.mul_(3)
    layer.clip_weights_()
    assert layer.weight.abs().max() <= 1


def test_bad_inputs():
    layer = CrossbarLinear(8, 3, rows=16)
    with pytest.raises(ValueError, match=r"expected shape \(batch, 8\)"):
        layer(torch.ones(2, 9))
    with pytest.raises(ValueError, match=r"\+-1"):
        layer(torch.zeros(2, 8))
    with pytest.raises(ValueError, match="mapping"):
        CrossbarLinear(8, 3, mapping="or")
    with pytest.raises(xbarkit.Error):
        CrossbarLinear(8, 3, converter="bogus")
    with pytest.raises(ValueError, match=r"weights: expected values -1 or \+1"):
        xbarkit.CrossbarLayer(np.zeros((3, 8)))
    with pytest.raises(ValueError, match=r"inputs: expected shape \(in_features,\) or \(batch, in_features\)"):
        xbarkit.CrossbarLayer(np.ones((3, 8))).matmul(np.ones((2, 7)))


def test_stochastic_mtj_converter_in_the_loop():
    """The StoX-Net SOT-MTJ converter (L Bernoulli samples per read) through the layer: the same
    draws as the simulator for the same seed, other draws for another seed, XNOR parity kept."""
    opts = dict(rows=16, converter="mtj:stox:8", seed=5)
    layer = CrossbarLinear(40, 6, **opts).eval()
    x = pm1((12, 40), 6)
    z = layer(x).detach()
    wb = torch.where(layer.weight >= 0, 1, -1).numpy().astype(np.int8)
    np.testing.assert_array_equal(z.numpy().astype(np.int32),
                                  xbarkit.CrossbarLayer(wb, **opts).matmul(x.numpy().astype(np.int8)))
    other = xbarkit.CrossbarLayer(wb, **{**opts, "seed": 6}).matmul(x.numpy().astype(np.int8))
    assert np.any(other != z.numpy())
    assert np.all((z.numpy() - 40) % 2 == 0)
    assert "mtj" in xbarkit.CrossbarLayer(wb, **opts).converter


def _write_safetensors(path, tensors):
    """safetensors (8-byte header length, JSON header, raw little-endian data), as xbarkit reads it."""
    import json
    import struct

    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def _write_idx(directory, images, labels):
    import struct

    directory.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    (directory / "t10k-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, rows, cols) + images.tobytes())
    (directory / "t10k-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.astype(np.uint8).tobytes())


@pytest.mark.parametrize("hardware", ["mtj", "lut"])
def test_keyed_draws_are_those_of_infer_and_the_trainer(tmp_path, bundles, hardware):
    """A CrossbarLinear with keys = image indices gives the predictions `xbarkit infer` gives for the
    same weights, seed and stochastic hardware, image for image (and infer's crossbar forward is the C++
    trainer's, tests/train: 'training forward == infer'). The network: a digital first layer whose
    output for image i is a chosen +-1 pattern (image i lights one pixel p_i, so layer 0 outputs the
    signs of column p_i of its weights), then the binary output layer on crossbars; the test set's
    labels are the Python layer's predictions, so infer's accuracy is 1.0 exactly when every image
    agrees."""
    _, _, lut_dir = bundles
    opts = dict(rows=16, seed=5, converter="mtj:stox:2") if hardware == "mtj" else \
        dict(rows=16, seed=5, array_lut=str(lut_dir), wire_scale=4.0)
    n, n_in, classes = 200, 48, 10
    rng = np.random.default_rng(11)
    w0 = np.where(rng.random((n_in, 784)) < 0.5, -1.0, 1.0)
    w1 = np.where(rng.random((classes, n_in)) < 0.5, -1.0, 1.0)
    pixel = (np.arange(n) * 3) % 784  # distinct pixels: distinct input patterns
    images = np.zeros((n, 28, 28), np.uint8)
    images.reshape(n, 784)[np.arange(n), pixel] = 255
    x = torch.from_numpy(w0[:, pixel].T.copy()).float()  # layer 0's +-1 outputs, one row per image

    layer = CrossbarLinear(n_in, classes, **opts).eval()
    layer.weight.data.copy_(torch.from_numpy(w1))
    z = layer(x, keys=np.arange(n)).detach().numpy()
    labels = np.argmax(z, axis=1)  # first maximum, as xbarkit's argmax (std::max_element)
    z_other = layer(x, keys=np.arange(1, n + 1)).detach().numpy()
    assert np.any(z_other != z)  # other keys, other draws
    other = np.argmax(z_other, axis=1)
    # MTJ sampling (L = 2) moves predictions, so infer with those labels must fall below 1.0: the check
    # can fail. The LUT's spread at 16 rows moves dot products but rarely a maximum.
    assert np.any(other != labels) or hardware == "lut"

    net = tmp_path / "net"
    net.with_suffix(".toml").write_text(
        'format = "xbarkit-bnn-1"\nname = "keyed"\ninput = [1, 28, 28]\nclasses = 10\n'
        f'[[layer]]\ntype = "dense"\nout = {n_in}\n[[layer]]\ntype = "dense"\nout = {classes}\n')
    identity_bn = lambda k, m: {f"layer{k}.bn.weight": np.ones(m), f"layer{k}.bn.bias": np.zeros(m),
                                f"layer{k}.bn.running_mean": np.zeros(m), f"layer{k}.bn.running_var": np.ones(m)}
    _write_safetensors(net.with_suffix(".safetensors"),
                       {"layer0.weight": w0, **identity_bn(0, n_in), "layer1.weight": w1, **identity_bn(1, classes)})
    for keys_labels, expect_all in ((labels, True), (other, False)) if hardware == "mtj" else ((labels, True),):
        _write_idx(tmp_path / "data", images, keys_labels)
        args = ["infer", "--network", net, "--data", tmp_path / "data", "--images", n, "--threads", 2, "--seed", 5,
                "--rows", 16]
        args += ["--converter", "mtj:stox:2"] if hardware == "mtj" else ["--array-lut", lut_dir, "--wire-scale", 4]
        doc = cli_json(*args)
        assert (doc["accuracy"] == 1.0) == expect_all, doc["accuracy"]

    # training mode without keys: pass t (from 1) draws row b with the trainer's key derive_seed(t, b)
    layer.train()
    z1 = layer(x[:8]).detach().numpy()
    ref = xbarkit.CrossbarLayer(w1.astype(np.int8), **opts).matmul(
        x[:8].numpy().astype(np.int8), keys=np.array([xbarkit.derive_seed(1, b) for b in range(8)], np.uint64))
    np.testing.assert_array_equal(z1.astype(np.int32), ref)
    with pytest.raises(ValueError, match=r"keys: expected shape \(8,\)"):
        layer(x[:8], keys=np.arange(7))
    with pytest.raises(TypeError, match="keys: expected an integer array"):
        layer(x[:8], keys=np.zeros(8))
