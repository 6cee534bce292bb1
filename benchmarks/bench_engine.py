"""The engine's own cost per op: forward + backward of a long chain of tiny ops, and of a small MLP,
minigan against PyTorch (CPU), in the same run.

    python benchmarks/bench_engine.py

With tiny arrays the arithmetic is nothing and what is timed is the bookkeeping: making tensors and graph
nodes, ordering the backward walk, dispatching. Prints microseconds per op for each and their ratio
(minigan / PyTorch); the target is at most 2.
"""
import argparse
import statistics
import time

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import flags, nn


def chain(lib, x, length):
    """length ops: (mul, add, tanh) repeated, on a tensor of 4 numbers."""
    y = x
    for _ in range(length // 3):
        y = (y * 0.999 + 0.001).tanh()
    return y.sum()


def time_it(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_chain(length, repeats, torch):
    results = {}
    x = minigan.tensor(numpy.full(4, 0.5, dtype=numpy.float32), requires_grad=True)
    results["minigan"] = time_it(lambda: chain(minigan, x, length).backward(), repeats)
    if torch:
        tx = torch.full((4,), 0.5, requires_grad=True)
        results["pytorch"] = time_it(lambda: chain(torch, tx, length).backward(), repeats)
    return {k: v / (length + 1) * 1e6 for k, v in results.items()}  # the chain's ops plus the final sum


def bench_mlp(repeats, torch):
    """A 3-layer MLP (64 -> 128 -> 128 -> 10, ReLU) on a batch of 32 with a cross-entropy loss: 12 ops."""
    results = {}
    minigan.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    x = minigan.randn(32, 64)
    y = minigan.tensor(numpy.arange(32) % 10)

    def ours():
        model.zero_grad()
        minigan.cross_entropy(model(x), y).backward()
    results["minigan"] = time_it(ours, repeats)
    if torch:
        tmodel = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                                     torch.nn.ReLU(), torch.nn.Linear(128, 10))
        tx, ty = torch.randn(32, 64), torch.arange(32) % 10

        def theirs():
            tmodel.zero_grad()
            torch.nn.functional.cross_entropy(tmodel(tx), ty).backward()
        results["pytorch"] = time_it(theirs, repeats)
    return {k: v * 1e6 for k, v in results.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--length", type=int, default=3000, help="ops in the chain (default 3000)")
    p.add_argument("--repeats", type=int, default=20,
                   help="timed passes through the chain, and ten times as many MLP steps (default 20)")
    args = p.parse_args()
    problem = flags.out_of_range(args, counts=("length", "repeats"), seeds=())
    if problem:
        p.error(problem)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing minigan alone")
    rows = [("chain of tiny ops, us per op (forward + backward)", bench_chain(args.length, args.repeats, torch)),
            ("3-layer MLP step, us per step (forward + backward)", bench_mlp(args.repeats * 10, torch))]
    for title, r in rows:
        ratio = f"ratio {r['minigan'] / r['pytorch']:.2f}" if "pytorch" in r else ""
        their = f"pytorch {r['pytorch']:8.1f}" if "pytorch" in r else ""
        print(f"{title:52s} minigan {r['minigan']:8.1f}  {their}  {ratio}")


if __name__ == "__main__":
    main()
