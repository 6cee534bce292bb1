"""Does minigan learn as well as PyTorch? minigan's default main job (the reference DCGAN, 3,000 steps of 32
images) and PyTorch's run of the reference recipe (2,000 steps of 64: shared/reference_dcgan.md), on the same
10,000 embedded digits, for a few seeds; then 10,000 samples of each scored with minigan's metrics (see
minigan/metrics), beside the real digits' figures.

    python benchmarks/quality_vs_torch.py --device cpu --seeds 0 1 2 --ema 0.99 0.999 --out quality
    python benchmarks/quality_vs_torch.py --batch-size 64 --steps 2000 ...   # both on the reference recipe

Both frameworks draw their batches from minigan's seeded iterator (the same batches in the same order where
the batch sizes agree). minigan's run is the main job's loop (gan.train_step); beside its raw generator it
keeps an averaged generator for each --ema decay (which leave the training itself untouched), and scores each
at every --at step, for the curve of Frechet distance over training. Writes a sample grid per run into --out,
prints one row of scores per generator and step, and writes everything to quality.json.
"""
import argparse
import json
import os
import sys
import time

import minigan  # noqa: F401  (before NumPy, which loads OpenBLAS: see minigan/machine.py)
import numpy

from minigan import data, files, flags, gan
from minigan.metrics import Evaluator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference  # noqa: E402
from common import minigan_reference, parse  # noqa: E402

REFERENCE_BATCH, REFERENCE_STEPS = 64, 2000   # the reference recipe's (shared/reference_dcgan.md), PyTorch's runs


def train_minigan(seed, batch_size, steps, device, decays, at, score):
    """Train the reference DCGAN with batches of `batch_size`; score(images) the raw G and each averaged G at
    the steps `at`. Returns ({generator name: final images}, [rows of the curve])."""
    G, step = minigan_reference(batch_size, device, seed)
    config = gan.default_config()
    averages = {f"ema {d:g}": gan.AveragedGenerator(G, lambda: gan.build_models(config)[0].to(device), d)
                for d in decays}
    z = numpy.random.default_rng(seed + 1000).standard_normal((10_000, config["nz"]))
    curve, images = [], {}
    for t in range(1, steps + 1):
        step()
        for average in averages.values():
            average.update()
        if t in at or t == steps:
            generators = {"raw": G, **{name: a.with_statistics(config["nz"], [seed, 3, t])
                                       for name, a in averages.items()}}
            for name, generator in generators.items():
                images[name] = gan.to_pixels(gan.generate(generator, z, device=device, chunk=1000))
                curve.append({"step": t, "generator": name, **score(images[name])})
    return images, curve


def train_torch(seed, steps, device):
    import torch
    G, D, opt_G, opt_D = torch_reference.build(device, seed)
    batches = data.Batches(*data.load_embedded(), REFERENCE_BATCH, seed=seed)  # minigan's order of batches
    step = torch_reference.make_step(G, D, opt_G, opt_D, lambda: torch.from_numpy(next(batches)[0].numpy()).to(device),
                                     device)
    for _ in range(steps):
        step()
    return torch_reference.sample(G, 10_000, seed + 1000, device)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="one run of each library per seed (default 0 1 2)")
    p.add_argument("--batch-size", type=int, default=gan.DEFAULT_BATCH_SIZE["dcgan"],
                   help=f"minigan's batch size (default {gan.DEFAULT_BATCH_SIZE['dcgan']}, the main job's)")
    p.add_argument("--steps", type=int, default=gan.DEFAULT_STEPS["dcgan"],
                   help=f"minigan's training steps (default {gan.DEFAULT_STEPS['dcgan']}, the main job's)")
    p.add_argument("--torch-steps", type=int, default=REFERENCE_STEPS,
                   help=f"PyTorch's training steps, of {REFERENCE_BATCH} images each, the reference recipe's "
                        f"(default {REFERENCE_STEPS})")
    p.add_argument("--ema", type=float, nargs="*", default=[0.99, 0.999], help="decays of averaged generators")
    p.add_argument("--at", type=int, nargs="*", default=[500, 1000, 1500, 2000, 2500],
                   help="steps to score minigan at too (default 500 1000 1500 2000 2500)")
    p.add_argument("--no-torch", action="store_true", help="train minigan only")
    flags.add_device(p, "train and score")
    p.add_argument("--out", default="quality", help="folder for quality.json and each run's grid (default quality)")
    args = parse(p, counts=("batch_size", "steps", "torch_steps", "at"), batch=("batch_size",), seeds=("seeds",))
    if not all(0 < decay < 1 for decay in args.ema):
        p.error(f"--ema: each decay must be between 0 and 1, got {' '.join(map(str, args.ema))}")
    if not args.no_torch:   # found out now, not after minutes of minigan's training
        try:
            import torch  # noqa: F401
        except ImportError:
            p.error("PyTorch is not installed: pip install torch for the comparison, or pass --no-torch")
    flags.make_folder(args.out)
    evaluator = Evaluator()
    floor = evaluator.real_floor()
    print(f"real digits: Frechet distance {floor.frechet_distance:.2f} (5,000 vs 5,000), inception score "
          f"{floor.inception_score:.2f}, modes {floor.modes}, near duplicates {floor.near_duplicates:.3f}")
    print(f"minigan: {args.steps:,} steps of {args.batch_size} images"
          + ("" if args.no_torch else f"; PyTorch: {args.torch_steps:,} steps of {REFERENCE_BATCH}"))
    print(f"{'run':30s} {'step':>5} {'Frechet':>8} {'IS':>6} {'modes':>6} {'KL':>6} {'near-dup':>9} {'train s':>8}")

    def score(images):
        return evaluator.score(images).as_dict()

    def show(name, row, seconds):
        print(f"{name:30s} {row['step']:5d} {row['frechet_distance']:8.2f} {row['inception_score']:6.2f} "
              f"{row['modes']:6d} {row['class_kl']:6.3f} {row['near_duplicates']:9.3f} {seconds:8.0f}", flush=True)

    rows, curve = [], []
    for seed in args.seeds:
        start = time.time()
        images, seed_curve = train_minigan(seed, args.batch_size, args.steps, args.device, args.ema, set(args.at),
                                           score)
        seconds = time.time() - start
        for row in seed_curve:
            curve.append({"seed": seed, **row})
            show(f"minigan {row['generator']} seed {seed}", row, seconds)
        for name, pixels in images.items():
            rows.append({"framework": f"minigan {name}", "seed": seed, "seconds": seconds,
                         **[r for r in seed_curve if r["generator"] == name][-1]})
            gan.save_grid(pixels[:64, None] / 127.5 - 1,
                          os.path.join(args.out, f"minigan_{name.replace(' ', '')}_seed{seed}.png"), nrow=8)
        if not args.no_torch:
            start = time.time()
            pixels = train_torch(seed, args.torch_steps, args.device)
            seconds = time.time() - start
            row = {"step": args.torch_steps, **score(pixels)}
            rows.append({"framework": "pytorch", "seed": seed, "seconds": seconds, **row})
            show(f"pytorch seed {seed}", row, seconds)
            gan.save_grid(pixels[:64, None] / 127.5 - 1, os.path.join(args.out, f"pytorch_seed{seed}.png"), nrow=8)
    for name in dict.fromkeys(r["framework"] for r in rows):
        fd = [r["frechet_distance"] for r in rows if r["framework"] == name]
        inception = [r["inception_score"] for r in rows if r["framework"] == name]
        each = ", ".join(f"{v:.1f}" for v in fd)
        print(f"{name}: Frechet distance {numpy.mean(fd):.1f} +- {numpy.std(fd):.1f} ({each}), "
              f"inception score {numpy.mean(inception):.2f} +- {numpy.std(inception):.2f} over {len(fd)} seeds")
    with files.atomic_write(os.path.join(args.out, "quality.json"), "w") as f:
        json.dump({"real": floor.as_dict(), "runs": rows, "curve": curve, "steps": args.steps,
                   "batch_size": args.batch_size, "torch_steps": args.torch_steps, "torch_batch_size": REFERENCE_BATCH,
                   "device": args.device}, f, indent=2)


if __name__ == "__main__":
    main()
