"""Shared by the benchmarks: NumPy's matmul peak and BLAS kernels, timing contestants in alternating blocks,
the reference recipe built in minigan, and a step's matrix products by shape."""
import math
import os
import statistics
import time

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import data, flags, gan, optim


def parse(parser, counts, batch=(), images=lambda args: 10_000, seeds=(), conflict=lambda args: None):
    """The parsed flags, or the parser's one-line error for a count below 1 (`counts`), a negative seed, a
    batch size (the flags `batch`) above the images(args) a benchmark draws its batches from, flags that
    conflict(args) names as not going together, or a --device this machine does not have: tracebacks, before."""
    args = parser.parse_args()
    problem = flags.out_of_range(args, counts=counts, seeds=seeds) or conflict(args)
    if problem:
        parser.error(problem)
    try:
        minigan.backend.check_device(getattr(args, "device", "cpu"))
    except RuntimeError as error:
        parser.error(str(error))
    for dest in batch:
        sizes = getattr(args, dest)
        most = images(args)
        for size in sizes if isinstance(sizes, list) else [sizes]:
            if size > most:
                parser.error(f"{flags.name(dest)} {size} is more than the {most:,} images it draws from")
    return args


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


def blas_kernels():
    """Which BLAS NumPy multiplies with and which of its kernels, as threadpoolctl reads them from the loaded
    library: 'OpenBLAS 0.3.31.188.0, SkylakeX kernels'. Where OPENBLAS_CORETYPE names the kernels, it says so:
    some machines set it to step around older OpenBLAS builds, and an AVX-512 processor held to the AVX2
    kernels (Haswell) multiplies at half the speed (on a Zen 5, 217 against 413-456 GFLOP/s)."""
    from threadpoolctl import threadpool_info
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    if not pools:
        return "no BLAS library found"
    pool = pools[0]
    name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(pool["internal_api"], pool["internal_api"])
    text = f"{name} {pool.get('version')}, {pool.get('architecture') or 'unnamed'} kernels"
    if pool["internal_api"] == "openblas" and os.environ.get("OPENBLAS_CORETYPE"):
        text += f" (named by OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} in the environment)"
    return text


def race(contestants, repeats, block=5, sync=None, times=None):
    """Median seconds per call of each contestant (name -> function), run in alternating blocks of `block`
    calls. The first call of each block is not timed: it pays for the switch (the other library's worker
    threads still spinning, caches full of the other's data), which neither pays in a real run.
    `times`, a dict if given, receives every timed call's seconds per contestant (for the spread).
    `sync(name)`, if given, waits for the device before and after each timed call."""
    times = {} if times is None else times
    times.update({name: [] for name in contestants})
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


def _clock_products(step, steps, record):
    """Seconds that `steps` calls of a minigan step function take, after three untimed ones, with every matrix
    product clocked: record(a, b, seconds) for each. Every product of the reference DCGAN and its critic goes
    through one function, minigan.ops.conv._matmul; it is wrapped for those steps and put back after."""
    from minigan.ops import conv
    product = conv._matmul

    def timed(a, b):
        start = time.perf_counter()
        result = product(a, b)
        record(a, b, time.perf_counter() - start)
        return result
    for _ in range(3):
        step()
    conv._matmul = timed
    try:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return time.perf_counter() - start
    finally:
        conv._matmul = product


def products_share(step, steps=20):
    """(ms per step, of which ms in matrix products) of a minigan step function on the CPU."""
    in_products = []
    total = _clock_products(step, steps, lambda a, b, seconds: in_products.append(seconds))
    return 1000 * total / steps, 1000 * sum(in_products) / steps


def _layout(a):
    """How a product's operand (g, m, k) lies in memory, one matrix of it: C (rows contiguous), F (columns
    contiguous) or 'strided' (neither: a broadcast gradient, whose zero strides _matmul writes out first)."""
    m = a[0]
    return "C" if m.flags.c_contiguous else "F" if m.flags.f_contiguous else "strided"


def _like(a, rng):
    """Random numbers of a's dtype in an array of a's shape and strides (zero strides included)."""
    extent = 1 + sum((n - 1) * s for n, s in zip(a.shape, a.strides)) // a.itemsize
    buffer = rng.random(extent, dtype=numpy.float64).astype(a.dtype)
    return numpy.lib.stride_tricks.as_strided(buffer, a.shape, a.strides)


def products_by_shape(step, steps=10, repeats=5):
    """Each kind of matrix product a minigan step function makes, by operand shapes and layouts, slowest first:
    dicts of `a` and `b` (shape and layout), `calls` per step, `ms` per step in the step, `gflops` in the step,
    and `alone_gflops`, the best of `repeats` runs of the same product with nothing else running, on operands of
    the same shapes and strides (one run of each kind a round); where PyTorch is installed, `torch_gflops`, the
    same for torch.matmul on those operands. A product slow in both is slow for BLAS at that shape; a product
    slow only in the step loses to what runs around it (caches, waking threads)."""
    from minigan.ops import conv
    product = conv._matmul
    seen = {}

    def record(a, b, seconds):
        kind = seen.setdefault((a.shape, _layout(a), b.shape, _layout(b)), [a, b, 0, 0.0])
        kind[2] += 1
        kind[3] += seconds
    _clock_products(step, steps, record)
    rng = numpy.random.default_rng(0)
    operands = {key: (_like(a, rng), _like(b, rng)) for key, (a, b, _, _) in seen.items()}
    contestants = {"alone_gflops": lambda a, b: (product, a, b)}
    try:   # PyTorch's own product on the same operands, where PyTorch is installed
        import torch
        contestants["torch_gflops"] = lambda a, b: (torch.matmul, torch.from_numpy(a), torch.from_numpy(b))
    except ImportError:
        pass
    calls = {(name, key): make(*pair) for name, make in contestants.items() for key, pair in operands.items()}
    best = dict.fromkeys(calls, math.inf)
    for _ in range(repeats):   # in rounds over the kinds, so that a slow moment of the machine does not take one alone
        for which, (fn, *args) in calls.items():
            best[which] = min(best[which], _seconds(fn, *args))
    rows = []
    for key, (_, _, count, seconds) in seen.items():
        a_shape, a_layout, b_shape, b_layout = key
        flop = 2 * a_shape[0] * a_shape[1] * a_shape[2] * b_shape[2]
        rows.append({"a": (a_shape, a_layout), "b": (b_shape, b_layout), "calls": count / steps,
                     "ms": 1000 * seconds / steps, "gflops": flop * count / seconds / 1e9,
                     **{name: flop / best[name, key] / 1e9 for name in contestants}})
    return sorted(rows, key=lambda row: -row["ms"])


def print_products(rows):
    """The table of products_by_shape: one line per kind of product, (m x k) @ (k x n) with each operand's layout,
    and a column for torch.matmul where the rows have one."""
    with_torch = "torch_gflops" in rows[0] if rows else False
    print(f"{'calls':>7} {'ms/step':>8} {'GF/s in step':>13} {'GF/s alone':>11}"
          + (f" {'torch alone':>12}" if with_torch else "") + "  product (m x k) @ (k x n), layouts")
    for row in rows:
        (a, a_layout), (b, b_layout) = row["a"], row["b"]
        groups = f"{a[0]} x " if a[0] > 1 else ""
        print(f"{row['calls']:>7.0f} {row['ms']:>8.2f} {row['gflops']:>13.0f} {row['alone_gflops']:>11.0f}"
              + (f" {row['torch_gflops']:>12.0f}" if with_torch else "")
              + f"  {groups}({a[1]} x {a[2]}, {a_layout}) @ ({b[1]} x {b[2]}, {b_layout})")
    in_step = sum(row["ms"] for row in rows)
    alone = sum(row["ms"] * row["gflops"] / row["alone_gflops"] for row in rows)
    print(f"{in_step:>16.2f} ms in the step; each alone at its own speed: {alone:.2f} ms")


def _seconds(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def pictures(image_size=28, channels=1):
    """(images, labels) for a benchmark: the embedded digits at 28 grey pixels; otherwise 1,024 random
    pictures of that size (the step's cost does not depend on what the pictures show)."""
    if (image_size, channels) == (28, 1):
        return data.load_embedded()
    rng = numpy.random.default_rng(0)
    return (rng.integers(0, 256, (1024, channels, image_size, image_size), dtype=numpy.uint8),
            numpy.zeros(1024, dtype=numpy.int64))


def minigan_reference(batch_size, device, seed, image_size=28, channels=1):
    """The reference recipe in minigan: (G, step), where step() runs one iteration of the main job's loop
    (gan.train_step) on the embedded digits and returns its figures. Another image size or channel count
    gives the DCGAN players of that size (minigan.gan.models), on random pictures."""
    minigan.manual_seed(seed)
    config = gan.default_config(image_size=image_size, channels=channels)
    G, D = gan.build_models(config)
    G.to(device)
    D.to(device)
    opt_G = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = data.Batches(*pictures(image_size, channels), batch_size, seed=seed, device=device)

    def step():
        return gan.train_step(G, D, opt_G, opt_D, batches, lambda n: gan.sample_noise(n, config["nz"], device))
    return G, step
