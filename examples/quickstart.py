#!/usr/bin/env python3
"""xbarkit from Python in four steps: characterize a small crossbar, look at its IR drop, train a
tiny binary network with that crossbar in the loop (PyTorch), and print its accuracy.

    python3 examples/quickstart.py                 # ~15 s on 2 cores
    python3 examples/quickstart.py --train-images 1000 --epochs 1 --out /tmp/qs   # smaller

Writes OUT/array_ps_32 (the LUT bundle), OUT/ir_drop.png and OUT/lut.png.
"""
import argparse
import pathlib

import numpy as np
import torch
from torch import nn

import xbarkit
import xbarkit.plot
from xbarkit.torch import CrossbarLinear, sign_ste

HERE = pathlib.Path(__file__).resolve().parent


def binary_images(images):
    """28x28 uint8 -> 14x14 (2x2 mean) -> +-1 at mid-grey: the inputs of the first crossbar layer."""
    x = torch.from_numpy(images.astype(np.float32)).reshape(-1, 14, 2, 14, 2).mean(dim=(2, 4))
    return torch.where(x >= 64.0, 1.0, -1.0).reshape(len(images), 196)


class TinyNet(nn.Module):
    """196 -> hidden -> 10, both products on simulated crossbars, batch norm + sign in between."""

    def __init__(self, hidden, **hardware):
        super().__init__()
        self.fc1 = CrossbarLinear(196, hidden, **hardware)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = CrossbarLinear(hidden, 10, **hardware)
        self.bn2 = nn.BatchNorm1d(10)

    def forward(self, x):
        return self.bn2(self.fc2(sign_ste(self.bn1(self.fc1(x)))))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="quickstart_out", help="output directory")
    ap.add_argument("--train-images", type=int, default=10000)
    ap.add_argument("--test-images", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=64)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)

    # 1. Characterize: sensed column-current LUT of a 32-row sram8t array (native solver).
    bundle = out / "array_ps_32"
    s = xbarkit.characterize(str(HERE / "array_ps_32.toml"), str(bundle), force=True)
    lut = xbarkit.ArrayLut(str(bundle))
    cfg = lut.find("sram8t", 32)
    print(f"1. characterized {cfg['table']}: {s['points']} points in {s['elapsed_s']:.2f} s, "
          f"full scale {cfg['full_scale_A'] * 1e6:.1f} uA, I_cell {cfg['ideal_cell_current_A'] * 1e6:.2f} uA")

    # 2. IR drop of one 32x32 array with every cell conducting (the worst case), native solver.
    x = xbarkit.Crossbar("sram8t", np.ones(32, np.uint8), np.ones((32, 32), np.uint8))
    sol = xbarkit.solve(x, node_voltages=True)
    xbarkit.plot.ir_drop_map(sol, x, path=out / "ir_drop.png")
    xbarkit.plot.lut_mean_std(lut, path=out / "lut.png")
    loss = 1 - sol.column_current_A / sol.ideal_column_current_A
    print(f"2. all cells on: columns read {100 * loss.min():.1f}..{100 * loss.max():.1f}% below ideal; "
          f"wrote {out / 'ir_drop.png'} and {out / 'lut.png'}")

    # 3. Train with the crossbar in the loop: LUT-sampled column currents, calibrated converter.
    images, labels = xbarkit.load_fashion_mnist(split="train")
    xtr, ytr = binary_images(images[: args.train_images]), torch.from_numpy(labels[: args.train_images].astype(np.int64))
    images, labels = xbarkit.load_fashion_mnist(split="test")
    xte, yte = binary_images(images[: args.test_images]), torch.from_numpy(labels[: args.test_images].astype(np.int64))
    hardware = dict(rows=32, array_lut=str(bundle), converter="calibrated", seed=1)
    model = TinyNet(args.hidden, **hardware)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for k in range(0, len(xtr), 100):
            idx = perm[k : k + 100]
            loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            for m in (model.fc1, model.fc2):
                m.clip_weights_()
        print(f"3. epoch {epoch + 1}/{args.epochs}: loss {loss.item():.3f}, "
              f"test accuracy on the crossbar {100 * accuracy(model, xte, yte):.1f}%")

    # 4. The same weights read by an uncalibrated converter (round(I / I_cell): IR drop uncorrected)
    #    and with exact products.
    hw = accuracy(model, xte, yte)
    for m in (model.fc1, model.fc2):
        m.options["converter"] = "ideal"
    uncalibrated = accuracy(model, xte, yte)
    for m in (model.fc1, model.fc2):
        m.hardware = False
    exact = accuracy(model, xte, yte)
    print(f"4. test accuracy ({len(xte)} images): {100 * hw:.1f}% on the characterized crossbar (calibrated "
          f"converter), {100 * uncalibrated:.1f}% with an uncalibrated converter, {100 * exact:.1f}% with exact "
          "products")
    print(f"accuracy {hw:.4f}")


if __name__ == "__main__":
    main()
