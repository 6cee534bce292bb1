"""Does minigan learn as well as PyTorch? The reference DCGAN recipe trained in both, on the same 10,000
embedded digits for the same number of steps, for a few seeds; then 10,000 samples of each scored with
minigan's metrics (see minigan/metrics), beside the real digits' figures.

    python benchmarks/quality_vs_torch.py --device cuda --seeds 0 1 2 --out quality

Both frameworks see the same batches in the same order (minigan's seeded iterator). Writes a sample grid per
run into --out and prints one row of scores per run.
"""
import argparse
import json
import os
import sys
import time

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py)
import numpy

from minigan import data, gan
from minigan.metrics import Evaluator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference  # noqa: E402
from common import minigan_reference  # noqa: E402


def train_minigan(seed, steps, device):
    G, step = minigan_reference(64, device, seed)
    for _ in range(steps):
        step()
    z = numpy.random.default_rng(seed + 1000).standard_normal((10_000, G.nz))
    return gan.to_pixels(gan.generate(G, z, device=device, chunk=1000))


def train_torch(seed, steps, device):
    import torch
    G, D, opt_G, opt_D = torch_reference.build(device, seed)
    batches = data.Batches(*data.load_embedded(), 64, seed=seed)  # the same order of batches as minigan's
    step = torch_reference.make_step(G, D, opt_G, opt_D, lambda: torch.from_numpy(next(batches)[0].numpy()).to(device),
                                     device)
    for _ in range(steps):
        step()
    return torch_reference.sample(G, 10_000, seed + 1000, device)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--device", choices=minigan.backend.DEVICES, default="cpu")
    p.add_argument("--out", default="quality")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    evaluator = Evaluator()
    floor = evaluator.real_floor()
    print(f"real digits: Frechet distance {floor.frechet_distance:.2f} (5,000 vs 5,000), inception score "
          f"{floor.inception_score:.2f}, modes {floor.modes}, near duplicates {floor.near_duplicates:.3f}")
    print(f"{'run':18s} {'Frechet':>8} {'IS':>6} {'modes':>6} {'KL':>6} {'near-dup':>9} {'train s':>8}")
    rows = []
    for seed in args.seeds:
        for name, train in (("minigan", train_minigan), ("pytorch", train_torch)):
            start = time.time()
            images = train(seed, args.steps, args.device)
            seconds = time.time() - start
            s = evaluator.score(images)
            gan.save_grid(images[:64, None] / 127.5 - 1, os.path.join(args.out, f"{name}_seed{seed}.png"), nrow=8)
            rows.append({"framework": name, "seed": seed, "seconds": seconds, **s.as_dict()})
            print(f"{name + ' seed ' + str(seed):18s} {s.frechet_distance:8.2f} {s.inception_score:6.2f} {s.modes:6d} "
                  f"{s.class_kl:6.3f} {s.near_duplicates:9.3f} {seconds:8.0f}", flush=True)
    for name in ("minigan", "pytorch"):
        fd = [r["frechet_distance"] for r in rows if r["framework"] == name]
        score = [r["inception_score"] for r in rows if r["framework"] == name]
        print(f"{name}: Frechet distance {numpy.mean(fd):.1f} +- {numpy.std(fd):.1f}, "
              f"inception score {numpy.mean(score):.2f} +- {numpy.std(score):.2f} over {len(fd)} seeds")
    with open(os.path.join(args.out, "quality.json"), "w") as f:
        json.dump({"real": floor.as_dict(), "runs": rows, "steps": args.steps}, f, indent=2)


if __name__ == "__main__":
    main()
