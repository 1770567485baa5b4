#!/usr/bin/env python3
"""Issue 16 must-hold: final test accuracy (10,000 test images) vs SC stream length L, against the same
network trained in floating point with the same schedule, mean +- std over seeds.

Runs `xbarkit-train train NET --json` once per (seed, update) -- seed by seed, float first, so that an
interrupted grid still has whole L sweeps -- keeps every run's JSON summary in OUT (a rerun skips the
runs already there, after checking that each is the run asked for: seed, schedule, --scale, --chop), and
prints the markdown table for docs/VALIDATION.md.

  scripts/sc_train_grid.py --network bnn_mlp --epochs 2 --train-images 30000 --out results/sc_mlp
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time


def check_reuse(args, seed, update, path, summary):
    """A run kept in OUT is reused only if it is the run asked for: same seed, schedule and SC settings
    (runs from before --sc-scale/--sc-chop existed have neither key: per-tensor scales, no chopping)."""
    md = summary.get("metadata", {})
    want = {"seed": str(seed), "epochs": str(args.epochs), "train_images": str(args.train_images)}
    if update != "float":
        want.update({"sc_update": update, "sc_scale": args.scale, "sc_chop": args.chop})
    got = {"seed": md.get("seed"), "epochs": md.get("epochs"), "train_images": md.get("train_images"),
           "sc_update": md.get("sc_update"), "sc_scale": md.get("sc_scale", "tensor"),
           "sc_chop": md.get("sc_chop", "off")}
    wrong = [f"{k} {got[k]} (asked {v})" for k, v in want.items() if got[k] != v]
    if wrong:
        sys.exit(f"{path}: a different run is already there: {', '.join(wrong)}; use another --out")


def run(args, seed, update, path):
    if os.path.exists(path):
        summary = json.load(open(path))
        check_reuse(args, seed, update, path, summary)
        return summary
    cmd = ["nice", "-n", str(args.nice), args.binary, "train", args.network_file, "-o", path[:-5] + ".safetensors",
           "--json", "--progress", "off", "--threads", str(args.threads), "--seed", str(seed), "--epochs",
           str(args.epochs), "--train-images", str(args.train_images)]
    if update != "float":
        cmd += ["--sc-update", update, "--sc-scale", args.scale, "--sc-chop", args.chop]
    t0 = time.time()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    summary = json.loads(out)
    summary["command"] = " ".join(cmd[3:])
    summary["wall_seconds"] = time.time() - t0
    with open(path + ".tmp", "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(path + ".tmp", path)
    print(f"seed {seed} {update:>12}: test {100 * summary['test_accuracy']:.2f}%  "
          f"({summary['wall_seconds']:.0f} s)", file=sys.stderr, flush=True)
    return summary


def mean_std(v):
    m = sum(v) / len(v)
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan")
    return m, s


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network", default="bnn_mlp")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train-images", type=int, default=30000)
    p.add_argument("--lengths", default="8,16,32,64,128,256")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--source", default="cbram", help="ideal, cbram or cbram@DEVICE")
    p.add_argument("--scale", default="row-col", choices=["row-col", "tensor"],
                   help="the trainer's --sc-scale (operand scales per generator or per tensor)")
    p.add_argument("--chop", default="on", choices=["on", "off"], help="the trainer's --sc-chop")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--nice", type=int, default=5)
    p.add_argument("--binary", default="build/xbarkit-train")
    p.add_argument("--out", required=True)
    p.add_argument("--table-only", action="store_true", help="summarize the runs in OUT, run nothing")
    args = p.parse_args()
    args.network_file = args.network if args.network.endswith(".toml") else f"models/networks/{args.network}.toml"
    os.makedirs(args.out, exist_ok=True)
    lengths = [int(x) for x in args.lengths.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    updates = ["float"] + [f"{args.source}:{L}" for L in lengths]
    acc = {u: [] for u in updates}
    secs = {u: [] for u in updates}
    for seed in seeds:
        for u in updates:
            path = os.path.join(args.out, f"seed{seed}_{u.replace(':', '_').replace('@', '_').replace('/', '_')}.json")
            if args.table_only and not os.path.exists(path):
                continue
            s = run(args, seed, u, path)
            acc[u].append(100 * s["test_accuracy"])
            secs[u].append(sum(e["seconds"] for e in s["epochs"]) / len(s["epochs"]))
    fm, fs = mean_std(acc["float"]) if acc["float"] else (float("nan"), float("nan"))
    print(f"{args.network}, {args.epochs} epochs on the first {args.train_images} training images, "
          f"seeds {args.seeds}, {args.source} streams, {args.scale} scales, chop {args.chop}, threads {args.threads}\n")
    print("| weight update | runs | test accuracy (%) mean ± std | loss vs float (points) | s/epoch (mean) |")
    print("|---|---|---|---|---|")
    below = None
    for u in updates:
        if not acc[u]:
            print(f"| {u} | 0 | not run | | |")
            below = None if u != "float" else below
            continue
        m, s = mean_std(acc[u])
        loss = fm - m
        runs = ", ".join(f"{a:.2f}" for a in acc[u])
        spread = f"{m:.2f} ± {s:.2f}" if len(acc[u]) > 1 else f"{m:.2f} (one seed)"
        print(f"| {u} | {len(acc[u])} ({runs}) | {spread} | {'' if u == 'float' else f'{loss:+.2f}'} | "
              f"{sum(secs[u]) / len(secs[u]):.1f} |")
        if u != "float":
            below = (below or u) if loss < 1 else None
    print(f"\nsmallest L from which every longer L also loses < 1 point: {below or 'none'}")


if __name__ == "__main__":
    main()
