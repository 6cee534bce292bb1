"""What splitting the NumPy kernels over the cores buys: one reference-DCGAN training step with im2col and
col2im cut over every core, against the same step with them kept on the calling thread.

    python benchmarks/bench_threads.py                    # B = 64 and 128

Both run in one process, in alternating blocks of steps (the machine's drift costs both alike); only the
number of threads of minigan's own kernels differs between them. OpenBLAS's threads do the matrix products
in both. Prints the median ms per step of each and their ratio (below 1: splitting helps).
"""
import argparse
import os
import sys

from minigan import machine

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import blas_kernels, minigan_reference, parse, race  # noqa: E402

def step_fn(batch_size, threads):
    _, train_step = minigan_reference(batch_size, "cpu", seed=0)

    def step():
        machine.THREADS = threads
        return train_step()["loss_G"].item()
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128],
                   help="the batch sizes to time, one after another (default 64 128)")
    p.add_argument("--repeats", type=int, default=60, help="timed steps of each (median reported; default 60)")
    args = parse(p, counts=("batch_sizes", "repeats"), batch=("batch_sizes",))
    cores = machine.num_threads()
    if cores < 2:
        sys.exit("one core available: there is nothing to split over")
    print(f"{cores} threads, OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}, {blas_kernels()}")
    print(f"{'B':>5} {'1 thread ms':>12} {f'{cores} threads ms':>14} {'ratio':>6}")
    for b in args.batch_sizes:
        ms = {name: s * 1000 for name, s in race({"one": step_fn(b, 1), "all": step_fn(b, cores)},
                                                  args.repeats, block=4).items()}
        print(f"{b:>5} {ms['one']:>12.1f} {ms['all']:>14.1f} {ms['all'] / ms['one']:>6.2f}")
    machine.THREADS = cores


if __name__ == "__main__":
    main()
