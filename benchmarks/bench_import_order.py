"""What importing NumPy before minigan costs: one reference-DCGAN training step, each kind in a new process.

    python benchmarks/bench_import_order.py            # B = 64, three rounds

Three kinds of process, differing only in what they import first:
  minigan first       `import minigan`, then NumPy: OpenBLAS loads with minigan's OPENBLAS_THREAD_TIMEOUT=4
  NumPy first         `import numpy`, then minigan, as a script that begins `import numpy as np` does: minigan
                      finds OpenBLAS loaded and restarts its threads (minigan/machine.py)
  NumPy first, spin   the same with OPENBLAS_THREAD_TIMEOUT=28 in the environment, OpenBLAS's own default, which
                      minigan leaves as the user set it: OpenBLAS's threads spin for about a tenth of a second
                      after each product, as every process with NumPy first had them before minigan restarted them
Each round runs the three one after another, each in a new process (the import order is a process's own), and
prints each one's median ms per step over --steps steps after two untimed ones.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import parse  # noqa: E402

CHILD = """
import statistics, sys, time
if {numpy_first}:
    import numpy
import minigan
sys.path.insert(0, {here!r})
from common import minigan_reference
_, step = minigan_reference({batch}, "cpu", seed=0)
for _ in range(2):
    step()
times = []
for _ in range({steps}):
    start = time.perf_counter()
    step()["loss_G"].item()
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""

KINDS = {"minigan first": (False, None), "NumPy first": (True, None), "NumPy first, spin": (True, "28")}


def median_ms(numpy_first, timeout, batch, steps):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if timeout:
        env["OPENBLAS_THREAD_TIMEOUT"] = timeout
    code = CHILD.format(numpy_first=numpy_first, here=HERE, batch=batch, steps=steps)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"a timed process failed:\n{done.stderr.strip()}")
    return float(done.stdout) * 1000


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-size", type=int, default=64, help="the batch size (default 64)")
    p.add_argument("--steps", type=int, default=40, help="timed steps in each process (median; default 40)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of the three kinds of process (default 3)")
    args = parse(p, counts=("batch_size", "steps", "rounds"), batch=("batch_size",))
    print(f"B = {args.batch_size}, median ms per step of {args.steps}, each kind in a new process")
    print(f"{'round':>5}" + "".join(f"{name:>20}" for name in KINDS))
    for r in range(1, args.rounds + 1):
        ms = [median_ms(first, timeout, args.batch_size, args.steps) for first, timeout in KINDS.values()]
        print(f"{r:>5}" + "".join(f"{m:>20.1f}" for m in ms), flush=True)


if __name__ == "__main__":
    main()
