"""Shared by the benchmarks: NumPy's matmul peak, and timing two contestants in alternating blocks."""
import statistics
import time

import numpy


def matmul_peak(repeats=5):
    """NumPy's float32 matmul GFLOP/s on this machine now: the best of a few square products."""
    best = 0.0
    for n in (1024, 2048):
        a = numpy.random.default_rng(0).random((n, n), dtype=numpy.float32)
        for _ in range(repeats):
            t = time.perf_counter()
            a @ a
            best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return best


def race(contestants, repeats, block=5, sync=None):
    """Median seconds per call of each contestant (name -> function), run in alternating blocks of `block`
    calls. The first call of each block is not timed: it pays for the switch (the other library's worker
    threads still spinning, caches full of the other's data), which neither pays in a real run.
    `sync(name)`, if given, waits for the device before and after each timed call."""
    times = {name: [] for name in contestants}
    while min(len(ts) for ts in times.values()) < repeats:
        for name, fn in contestants.items():
            for i in range(block + 1):
                if sync:
                    sync(name)
                t = time.perf_counter()
                fn()
                if sync:
                    sync(name)
                if i > 0:
                    times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}
