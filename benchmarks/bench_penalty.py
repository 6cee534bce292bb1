"""One WGAN-GP critic step of the reference DCGAN critic, minigan against PyTorch, on the CPU.

    python benchmarks/bench_penalty.py                   # B = 64, the critic with layer norm (--loss wgan-gp)
    python benchmarks/bench_penalty.py --d-norm none
    python benchmarks/bench_penalty.py --products      # each kind of matrix product, in the step and alone

A step (Gulrajani et al. 2017, Algorithm 1, lines 4-9): the critic reads a real and a fake batch; the
penalty mixes them per sample, reads the mix, and takes the critic's gradient with respect to it with a graph
(create_graph); the loss E[D(fake)] - E[D(real)] + 10 E[(||grad|| - 1)^2] is differentiated through that
gradient (a second derivative through every layer), and Adam(1e-4, betas (0, 0.9)) updates the critic. The
generator is not part of it: both libraries read the same fixed real and fake batches, and start from the
same weights. Run in alternating blocks in one process; prints each library's median ms with the spread of
its step times (10th to 90th percentile) and the ratio minigan / PyTorch (below 1: minigan is faster), then
how minigan's step divides between its matrix products and everything else.
"""
import argparse
import os
import statistics
import sys

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import data, gan, optim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import blas_kernels, parse, print_products, products_by_shape, products_share, race  # noqa: E402

LAMBDA = 10.0


def batches(batch_size):
    """A real batch of digits and a fixed 'fake' batch (noise squashed into [-1, 1]), float32."""
    real = data.to_unit_range(data.load_embedded()[0][:batch_size])
    fake = numpy.tanh(numpy.random.default_rng(1).standard_normal(real.shape)).astype(numpy.float32)
    return real, fake


def minigan_step_fn(batch_size, d_norm):
    minigan.manual_seed(0)
    D = gan.DCGANDiscriminator(norm=d_norm)
    opt = optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    real, fake = (minigan.tensor(a) for a in batches(batch_size))

    def step():
        opt.zero_grad()
        loss = gan.discriminator_loss(D(real), D(fake), "wgan") + LAMBDA * gan.gradient_penalty(D, real, fake)
        loss.backward()
        opt.step()
        return loss.item()
    return D, step


def torch_step_fn(batch_size, d_norm, weights_from):
    import torch
    from torch import nn
    norm = {"layer": [nn.LayerNorm([128, 7, 7])], "none": []}[d_norm]
    D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
                      nn.Conv2d(64, 128, 4, 2, 1, bias=False), *norm, nn.LeakyReLU(0.2),
                      nn.Conv2d(128, 1, 7, 1, 0, bias=False))
    with torch.no_grad():   # the same starting weights as minigan's critic
        for p, q in zip(D.parameters(), weights_from.parameters()):
            p.copy_(torch.tensor(q.numpy()))
    opt = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    real, fake = (torch.tensor(a) for a in batches(batch_size))
    generator = torch.Generator().manual_seed(0)

    def step():
        opt.zero_grad()
        e = torch.rand(batch_size, 1, 1, 1, generator=generator)
        x_hat = (e * real + (1 - e) * fake).requires_grad_()
        (g,) = torch.autograd.grad(D(x_hat).sum(), [x_hat], create_graph=True)
        penalty = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        loss = D(fake).mean() - D(real).mean() + LAMBDA * penalty
        loss.backward()
        opt.step()
        return loss.item()
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-size", type=int, default=64, help="images per batch, real and fake (default 64)")
    p.add_argument("--d-norm", choices=("layer", "none"), default="layer",
                   help="the critic's normalization (default layer, the main job's choice for wgan-gp)")
    p.add_argument("--repeats", type=int, default=30, help="timed steps of each (median reported; default 30)")
    p.add_argument("--products", action="store_true",
                   help="also list minigan's matrix products by shape: their time in the step, and their speed "
                        "there and alone")
    args = parse(p, counts=("batch_size", "repeats"), batch=("batch_size",))
    D, ours = minigan_step_fn(args.batch_size, args.d_norm)
    contestants = {"minigan": ours}
    try:
        import torch
        torch.set_num_threads(os.cpu_count())
        contestants["pytorch"] = torch_step_fn(args.batch_size, args.d_norm, D)
    except ImportError:
        print("PyTorch is not installed: timing minigan alone (pip install torch for the comparison)")
    times = {}
    race(contestants, args.repeats, times=times)
    spread = {name: (1000 * statistics.median(ts), *(1000 * q for q in statistics.quantiles(ts, n=10)[::8]))
              for name, ts in times.items()}
    print(f"WGAN-GP critic step, B = {args.batch_size}, critic with {args.d_norm} norm, {os.cpu_count()} cores, "
          f"{blas_kernels()}")
    for name, (median, lo, hi) in spread.items():
        print(f"  {name:8s} {median:7.1f} ms  (p10-p90 {lo:.1f}-{hi:.1f})")
    if "pytorch" in spread:
        print(f"  ratio minigan / pytorch: {spread['minigan'][0] / spread['pytorch'][0]:.2f}")
    total, products = products_share(ours)
    print(f"  minigan's step {total:.1f} ms, of which matrix products {products:.1f} ms and everything else "
          f"{total - products:.1f} ms")
    if args.products:
        print_products(products_by_shape(ours))


if __name__ == "__main__":
    main()
