"""PyTorch layers with xbarkit's simulated crossbar hardware in the forward pass.

``CrossbarLinear(in_features, out_features, **hardware)`` is a binary dense layer: its latent real
weights are binarized (w >= 0 -> +1, else -1), its +-1 inputs drive crossbar tiles, and the forward
pass returns the integer dot products the hardware produces: the mapping (xnor | and), BinSparX,
column sensing (ideal, an array_ps LUT sampled or at its mean, or the exact native solver) and the
partial-sum converter (ideal, calibrated, ADC, SOT-MTJ), i.e. ``xbarkit.CrossbarLayer`` with the
options of ``xbarkit infer``. The backward pass is the straight-through estimator of the C++
trainer (src/xbarkit/train/trainer.cpp; Hubara et al., "Binarized Neural Networks", NIPS 2016):
the hardware's non-ideal product is treated as the ideal product W_b x, so dL/dx = g W_b and
dL/dW = g^T x (unmasked for weights; ``clip_weights_()`` keeps them in [-1, 1] after a step).

``sign_ste(x)`` binarizes activations (x >= 0 -> +1) with the clipped straight-through gradient
(passes where |x| <= 1), as the trainer does after batch norm.

The simulated hardware runs on the CPU: inputs are copied there, and the result comes back on the
input's device and dtype.
"""
import numpy as np
import torch
from torch import nn

from . import _core

_x = _core()  # the C++ extension (an ImportError that says how to build it when it is missing)

__all__ = ["sign_ste", "CrossbarLinear"]


def _binarize(t):
    return torch.where(t >= 0, torch.ones_like(t), -torch.ones_like(t))


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _binarize(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


def sign_ste(x):
    """+1 where x >= 0, else -1; gradient passes unchanged where |x| <= 1 and is 0 elsewhere."""
    return _SignSTE.apply(x)


class _CrossbarProduct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, hardware, keys):
        wb = _binarize(weight.detach())
        if hardware is None:
            z = x.detach() @ wb.t()
        else:
            layer = _x.CrossbarLayer(wb.cpu().numpy().astype(np.int8), **hardware)
            xs = x.detach().cpu().numpy().astype(np.int8)
            z = torch.from_numpy(layer.matmul(xs, keys=keys)).to(device=x.device, dtype=x.dtype)
        ctx.save_for_backward(x, wb)
        return z

    @staticmethod
    def backward(ctx, g):
        x, wb = ctx.saved_tensors
        grad_x = g @ wb if ctx.needs_input_grad[0] else None
        grad_w = g.t() @ x if ctx.needs_input_grad[1] else None
        return grad_x, grad_w, None, None


class CrossbarLinear(nn.Module):
    """Binary dense layer z = W_b x on simulated crossbars (no bias: batch norm follows it).

    Inputs must be +-1 (e.g. from ``sign_ste``); shape (batch, in_features). ``hardware=False``
    computes the ideal product in torch (the same values as ideal hardware, faster); otherwise the
    keyword options go to ``xbarkit.CrossbarLayer``: rows, cols, mapping, binsparx, array_lut,
    converter, lut_mean, exact, cell, wire_scale, tech, seed.

    The hardware's random draws (LUT samples, MTJ samples) are keyed per row, as in the C++ trainer
    and ``xbarkit infer``: ``forward(x, keys=K)`` draws row b from (seed, K[b]). Without ``keys``, a
    training-mode pass number t (counted from 0) uses the trainer's keys K[b] = derive_seed(t + 1, b),
    so successive batches draw fresh noise and the same weights and batch give the C++ trainer's
    forward values; an eval-mode pass draws from (seed, the inputs), reproducibly. ``infer``'s draws
    for test images i0, i0 + 1, ... are ``keys=numpy.arange(i0, i0 + batch)``.
    """

    def __init__(self, in_features, out_features, hardware=True, **options):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"in_features, out_features: expected >= 1, got {in_features}, {out_features}")
        self.in_features = in_features
        self.out_features = out_features
        self.hardware = bool(hardware)
        self.options = dict(options)
        self.options.setdefault("seed", 1)
        self._step = 0
        # uniform latent weights in [-1, 1]: binarized signs are +-1 with equal probability
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1, 1))
        if self.hardware:  # check the options once, with the error messages of xbarkit
            _x.CrossbarLayer(np.ones((out_features, in_features), np.int8), **self.options)

    def forward(self, x, keys=None):
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"input: expected shape (batch, {self.in_features}), got {tuple(x.shape)}")
        if not torch.all((x == 1) | (x == -1)):
            raise ValueError("input: expected +-1 values (binarize with xbarkit.torch.sign_ste)")
        hw = None
        if self.hardware:
            hw = dict(self.options)
            if keys is None and self.training:
                self._step += 1
                keys = np.array([_x.derive_seed(self._step, b) for b in range(x.shape[0])], dtype=np.uint64)
        elif keys is not None:
            raise ValueError("keys: only a layer with hardware draws (hardware=True) takes keys")
        return _CrossbarProduct.apply(x, self.weight, hw, keys)

    @torch.no_grad()
    def clip_weights_(self):
        """Clips the latent weights to [-1, 1] (after an optimizer step, as the C++ trainer does)."""
        self.weight.clamp_(-1, 1)

    def extra_repr(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"in_features={self.in_features}, out_features={self.out_features}, hardware={self.hardware}, {opts}"
