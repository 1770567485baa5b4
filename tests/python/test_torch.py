"""xbarkit.torch: the crossbar product in the forward pass, the straight-through backward."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xbarkit  # noqa: E402
from xbarkit.torch import CrossbarLinear, sign_ste  # noqa: E402


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
    # training mode advances the seed per pass: other draws
    layer.train()
    a, b = layer(x), layer(x)
    assert not torch.equal(a, b)


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
