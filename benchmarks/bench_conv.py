"""Each convolution layer of the reference DCGAN (shared/reference_dcgan.md), forward and backward, at
B = 64: minigan against PyTorch (CPU), in alternating blocks in one run, median of many repetitions.

    python benchmarks/bench_conv.py

Backward means both gradients, of the input and of the weight. Prints each layer's times and ratio
(minigan / PyTorch; below 1 minigan is faster), the GFLOP/s achieved, and their share of NumPy's float32
matmul peak measured in the same run.

Each library gets its inputs in the memory order its own layers hand each other inside the network:
PyTorch's (n, c, h, w); minigan's (c, h, w, n) (same shape and values; see minigan/kernels/cpu.py), except
for the first layer of each player, whose input (images, noise) arrives in (n, c, h, w) for both.
"""
import argparse
import os
import sys

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import blas_kernels, matmul_peak, parse, race  # noqa: E402

# name, transposed?, c_in, c_out, kernel, stride, padding, input size
LAYERS = [
    ("G1 convT 100->256 k7, 1->7", True, 100, 256, 7, 1, 0, 1),
    ("G2 convT 256->128 k4 s2, 7->14", True, 256, 128, 4, 2, 1, 7),
    ("G3 convT 128->1 k4 s2, 14->28", True, 128, 1, 4, 2, 1, 14),
    ("D1 conv 1->64 k4 s2, 28->14", False, 1, 64, 4, 2, 1, 28),
    ("D2 conv 64->128 k4 s2, 14->7", False, 64, 128, 4, 2, 1, 14),
    ("D3 conv 128->1 k7, 7->1", False, 128, 1, 7, 1, 0, 7),
]


def layer_gflop(transposed, c_in, c_out, k, size, out_size, batch):
    """Forward multiply-adds times 2, and backward twice that (input and weight gradients)."""
    pixels = size * size if transposed else out_size * out_size
    return 3 * 2 * c_in * c_out * k * k * pixels * batch / 1e9


def channels_first(array):
    """The same (n, c, h, w) array, held in memory as (c, h, w, n): how minigan's layers pass activations."""
    return numpy.ascontiguousarray(array.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def contestants(layer, batch, torch):
    name, transposed, c_in, c_out, k, s, p, size = layer
    inner = not name.startswith(("G1", "D1"))  # fed by another layer of the network
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((batch, c_in, size, size)).astype(numpy.float32)
    W = (rng.standard_normal((c_in, c_out, k, k) if transposed else (c_out, c_in, k, k)) * 0.02).astype(numpy.float32)
    op = minigan.conv_transpose2d if transposed else minigan.conv2d
    mx = minigan.Tensor(channels_first(x) if inner else x.copy(), requires_grad=True)
    mW = minigan.tensor(W, requires_grad=True)
    out = op(mx, mW, stride=s, padding=p)
    gy = rng.standard_normal(out.shape).astype(numpy.float32)
    mgy = minigan.Tensor(channels_first(gy))  # gradients reach a layer from minigan's own ops

    def ours():
        mx.grad = mW.grad = None
        op(mx, mW, stride=s, padding=p).backward(mgy)
    fns = {"minigan": ours}
    if torch:
        top = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d
        tx, tW, tgy = torch.tensor(x, requires_grad=True), torch.tensor(W, requires_grad=True), torch.tensor(gy)

        def theirs():
            tx.grad = tW.grad = None
            top(tx, tW, stride=s, padding=p).backward(tgy)
        fns["pytorch"] = theirs
    return fns, out.shape[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--repeats", type=int, default=40,
                        help="timed forward + backward passes of each layer (median reported; default 40)")
    args = parse(parser, counts=("batch_size", "repeats"))
    try:
        import torch
        torch.set_num_threads(os.cpu_count())
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing minigan alone")
    peak = matmul_peak()
    print(f"B = {args.batch_size}, {os.cpu_count()} cores, NumPy float32 matmul peak {peak:.0f} GFLOP/s ({blas_kernels()})")
    print(f"{'layer (forward + backward)':34s} {'minigan ms':>10} {'pytorch ms':>10} {'ratio':>6} {'GFLOP':>6} "
          f"{'minigan GF/s':>12} {'% peak':>7}")
    totals = {"minigan": 0.0, "pytorch": 0.0, "gflop": 0.0}
    for layer in LAYERS:
        fns, out_size = contestants(layer, args.batch_size, torch)
        seconds = race(fns, args.repeats)
        flop = layer_gflop(layer[1], layer[2], layer[3], layer[4], layer[7], out_size, args.batch_size)
        ours = seconds["minigan"]
        theirs = seconds.get("pytorch")
        totals["minigan"] += ours
        totals["pytorch"] += theirs or 0
        totals["gflop"] += flop
        row(layer[0], ours, theirs, flop, peak)
    row("all layers", totals["minigan"], totals["pytorch"] if torch else None, totals["gflop"], peak)


def row(name, ours, theirs, flop, peak):
    """One line of the table; '-' where PyTorch was not timed."""
    their_ms, ratio = (f"{theirs * 1000:10.2f}", f"{ours / theirs:6.2f}") if theirs else (f"{'-':>10}", f"{'-':>6}")
    print(f"{name:34s} {ours * 1000:10.2f} {their_ms} {ratio} {flop:6.2f} {flop / ours:12.0f} "
          f"{100 * flop / ours / peak:6.0f}%")


if __name__ == "__main__":
    main()
