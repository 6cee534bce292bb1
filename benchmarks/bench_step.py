"""One whole training step of the reference DCGAN (shared/reference_dcgan.md), minigan against PyTorch.

    python benchmarks/bench_step.py                       # CPU, B = 64 and 128
    python benchmarks/bench_step.py --device cuda --batch-sizes 64 512
    python benchmarks/bench_step.py --image-size 64 --channels 3 --batch-sizes 64   # the 64-pixel colour players
    python benchmarks/bench_step.py --batch-sizes 64 --no-memory --products        # which products are slow

A step: G makes a fake batch; D is updated on a real batch and the fake batch (each through D on its own);
G is updated through D on the same fake batch, with D's parameters frozen for that pass (both frameworks
alike). Both run the same recipe on the same data in one process, in alternating blocks of steps, so
that a slower or busier moment of the machine costs both alike. Prints the median ms per step, the ratio
minigan / PyTorch (below 1: minigan is faster) with the spread of each library's step times in the run
(their 10th to 90th percentile), the GFLOP/s of the step's matrix work against NumPy's own float32 matmul
peak measured in the same run, the peak resident memory of a process training each, and, on the CPU, how
minigan's step divides between its matrix products and everything else; with --products, each kind of
product by shape, with its speed in the step and alone.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import minigan
from minigan import data, files, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference  # noqa: E402
from common import (blas_kernels, matmul_peak, minigan_reference, parse, pictures, print_products,  # noqa: E402
                    products_by_shape, products_share, race)

# --------------------------------------------------------------------------- the two contestants

def minigan_step_fn(batch_size, device, seed=0, image_size=28, channels=1):
    _, train_step = minigan_reference(batch_size, device, seed, image_size, channels)

    def step():
        return train_step()["loss_G"].item()  # a value is read back every step, as when logging
    return step


def torch_step_fn(batch_size, device, seed=0, image_size=28, channels=1):
    import torch
    if (image_size, channels) == (28, 1):
        G, D, opt_G, opt_D = torch_reference.build(device, seed)
    else:
        G, D, opt_G, opt_D = torch_reference.build_sized(device, seed, image_size, channels)
    images = torch.tensor(data.to_unit_range(pictures(image_size, channels)[0]), device=device)
    position = [0]

    def next_real():
        if position[0] + batch_size > len(images):
            position[0] = 0
        position[0] += batch_size
        return images[position[0] - batch_size:position[0]]
    return torch_reference.make_step(G, D, opt_G, opt_D, next_real, device)


# --------------------------------------------------------------------------- what a step costs

def layer_gflop(model, x):
    """Multiply-adds, times 2, of each convolution of a player's `main` for the input x (a transposed
    convolution's: over its input pixels), from one pass of a single image."""
    flop = []
    for m in model.main:
        y = m(x)
        if isinstance(m, minigan.nn.Conv2d):
            flop.append(2 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * y.shape[2] * y.shape[3])
        elif isinstance(m, minigan.nn.ConvTranspose2d):
            flop.append(2 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * x.shape[2] * x.shape[3])
        x = y
    return flop


def step_gflop(batch_size, image_size=28, channels=1):
    """GFLOP of the step's convolutions: forward, input gradients, weight gradients."""
    G, D = minigan.gan.build_models(minigan.gan.default_config(image_size=image_size, channels=channels))
    G.eval()
    D.eval()
    with minigan.no_grad():
        g = layer_gflop(G, minigan.randn(1, G.nz, 1, 1))
        d = layer_gflop(D, minigan.randn(1, channels, image_size, image_size))
    g_forward, d_forward = sum(g), sum(d)
    d_step = 2 * d_forward + 2 * (d_forward - d[0]) + 2 * d_forward    # fwd real+fake, input grads (not the
    g_step = 2 * d_forward + (g_forward - g[0]) + g_forward            # images'), weight grads; D fwd and input
    return batch_size * (g_forward + d_step + g_step) / 1e9            # grads, G input and weight grads


def peak_memory_mib(framework, batch_size, device, image_size=28, channels=1):
    """Peak resident memory (MiB) of a child process over 5 training steps, after one warm-up step. Linux:
    writing 5 to /proc/self/clear_refs resets the high-water mark that /proc/self/status reports as VmHWM."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import bench_step as b; "
            f"s = b.{framework}_step_fn({batch_size}, {device!r}, 0, {image_size}, {channels}); s(); "
            "open('/proc/self/clear_refs', 'w').write('5'); [s() for _ in range(5)]; "
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


# --------------------------------------------------------------------------- the race

def race_steps(batch_size, device, repeats, with_torch=True, shape=(28, 1)):
    """{name: (median ms, 10th percentile ms, 90th percentile ms)} of each library's step."""
    contestants = {"minigan": minigan_step_fn(batch_size, device, 0, *shape)}
    if with_torch:
        contestants["pytorch"] = torch_step_fn(batch_size, device, 0, *shape)
    times = {}
    race(contestants, repeats, sync=_sync if device == "cuda" else None, times=times)
    return {name: (1000 * statistics.median(ts), *(1000 * q for q in statistics.quantiles(ts, n=10)[::8]))
            for name, ts in times.items()}


def _sync(name):
    if name == "pytorch":
        import torch
        torch.cuda.synchronize()
    else:
        minigan.backend.cupy.cuda.Device().synchronize()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add_device(p, "time the step")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128],
                   help="the batch sizes to time, one after another (default 64 128)")
    p.add_argument("--repeats", type=int, default=30, help="timed steps of each (median reported; default 30)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    p.add_argument("--image-size", type=int, choices=(28, 32, 64), default=28,
                   help="28 (default): the reference recipe on the digits; 32 or 64: the DCGAN players of that "
                        "size (Radford et al.'s layout), on random pictures")
    p.add_argument("--channels", type=int, choices=(1, 3), default=1, help="1 (default) or 3 (colour)")
    p.add_argument("--products", action="store_true",
                   help="on the CPU, also list minigan's matrix products by shape: their time in the step, and "
                        "their speed there and alone")
    p.add_argument("--json", help="also write the results to this file")
    args = parse(p, counts=("batch_sizes", "repeats"), batch=("batch_sizes",),
                 images=lambda args: len(pictures(args.image_size, args.channels)[0]),
                 conflict=lambda args: "--products lists the CPU's matrix products; leave it out with --device cuda"
                 if args.products and args.device != "cpu" else None)
    shape = (args.image_size, args.channels)
    try:
        import torch
        torch.set_num_threads(os.cpu_count())
        with_torch = True
    except ImportError:
        print("PyTorch is not installed: timing minigan alone (pip install torch for the comparison)")
        with_torch = False
    peak = matmul_peak() if args.device == "cpu" else None
    results = []
    print(f"device {args.device}, {os.cpu_count()} cores, images {args.image_size} x {args.image_size} x {args.channels}"
          + (f", NumPy float32 matmul peak {peak:.0f} GFLOP/s ({blas_kernels()})" if peak else ""))
    print(f"{'B':>5} {'minigan ms (p10-p90)':>21} {'pytorch ms (p10-p90)':>21} {'ratio':>6} {'GFLOP/step':>11} "
          f"{'minigan GF/s':>13} {'% peak':>7} {'pytorch % peak':>15} {'mem MiB m/p':>12}")
    for b in args.batch_sizes:
        spread = race_steps(b, args.device, args.repeats, with_torch=with_torch, shape=shape)
        ms = {name: median for name, (median, _, _) in spread.items()}
        flop = step_gflop(b, *shape)
        row = {"batch_size": b, "minigan_ms": ms["minigan"], "pytorch_ms": ms.get("pytorch"), "gflop": flop,
               "spread_ms": spread}
        row["ratio"] = ms["minigan"] / ms["pytorch"] if with_torch else None
        row["minigan_gflops"] = flop / ms["minigan"] * 1000
        if not args.no_memory and args.device == "cpu":
            row["minigan_mib"] = peak_memory_mib("minigan", b, args.device, *shape)
            row["pytorch_mib"] = peak_memory_mib("torch", b, args.device, *shape) if with_torch else None
        results.append(row)
        ratio = f"{row['ratio']:.2f}" if row["ratio"] else "-"
        shown = {name: f"{m:.1f} ({lo:.0f}-{hi:.0f})" for name, (m, lo, hi) in spread.items()}
        share = f"{100 * row['minigan_gflops'] / peak:.0f}%" if peak else "-"
        torch_share = f"{100 * flop / ms['pytorch'] * 1000 / peak:.0f}%" if peak and with_torch else "-"
        memory = (f"{row['minigan_mib']:.0f}/{row['pytorch_mib']:.0f}" if row.get("pytorch_mib") else
                  f"{row['minigan_mib']:.0f}/-" if "minigan_mib" in row else "-")
        print(f"{b:>5} {shown['minigan']:>21} {shown.get('pytorch', '-'):>21} {ratio:>6} {flop:>11.1f} "
              f"{row['minigan_gflops']:>13.0f} {share:>7} {torch_share:>15} {memory:>12}")
    if args.device == "cpu":
        for b in args.batch_sizes:
            total, products = products_share(minigan_step_fn(b, "cpu", 0, *shape))
            row = next(r for r in results if r["batch_size"] == b)
            row["products_ms"], row["outside_products_ms"] = products, total - products
            print(f"B = {b}: minigan's step {total:.1f} ms, of which matrix products {products:.1f} ms "
                  f"({step_gflop(b, *shape) / products * 1000:.0f} GFLOP/s) and everything else "
                  f"{total - products:.1f} ms")
            if args.products:
                row["products"] = products_by_shape(minigan_step_fn(b, "cpu", 0, *shape))
                print_products(row["products"])
    if args.json:
        with files.atomic_write(args.json, "w") as f:
            json.dump({"device": args.device, "image_size": args.image_size, "channels": args.channels,
                       "matmul_peak_gflops": peak, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
