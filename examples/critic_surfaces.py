"""Figure 1 of Gulrajani et al. (2017) on the ring of 8 Gaussians: the value surface of a Wasserstein critic
trained against a fixed "generator", once with its weights clipped (Arjovsky et al., 2017) and once with a
gradient penalty in their place.

    python examples/critic_surfaces.py        # a few seconds; writes out/critic_surfaces.png

As in the paper's figure, the generator is held fixed at the real data plus Gaussian noise, and each critic
is trained towards its optimum. Both play the same loss, E[D(fake)] - E[D(real)], with the same MLP and
optimizer; they differ only in how they are kept 1-Lipschitz. The paper's finding (its Section 3): clipped
weights push the critic towards very simple functions, and the penalty does not. The penalty's weight is
lambda = 0.1, the one the authors' own script for these toy worlds uses (gan_toy.py in their code; their
comment: a smaller lambda is faster on toy tasks). The script also prints each critic's mean gradient norm
between real and fake points, which the penalty pulls towards 1.
"""
import argparse
import os

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import flags, gan, optim
from mixture_2d import Critic, critic_surface, sample_ring


def train_critic(constraint, args):
    """A critic trained for args.steps steps against the fixed generator, kept in bounds by `constraint`
    ("clipping" or "penalty"); returns it and its mean gradient norm on mixes of real and fake points."""
    minigan.manual_seed(args.seed)
    rng = numpy.random.default_rng(args.seed)
    D = Critic(args.width)
    opt = optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.9))
    for _ in range(args.steps):
        real = sample_ring(rng, args.batch_size, args.sigma)
        fake = sample_ring(rng, args.batch_size, args.sigma) + args.noise * rng.standard_normal(real.shape)
        real, fake = minigan.tensor(real), minigan.tensor(fake.astype(numpy.float32))
        opt.zero_grad()
        loss = gan.discriminator_loss(D(real), D(fake), "wgan")
        if constraint == "penalty":
            loss = loss + args.gp * gan.gradient_penalty(D, real, fake)
        loss.backward()
        opt.step()
        if constraint == "clipping":
            gan.clip_weights_(D, args.clip)
    mixed = minigan.tensor(real.numpy() * 0.5 + fake.numpy() * 0.5, requires_grad=True)
    (g,) = minigan.grad(D(mixed).sum(), [mixed])
    return D, float(numpy.linalg.norm(g.numpy(), axis=1).mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000, help="critic updates (default 2000)")
    p.add_argument("--noise", type=float, default=0.3, help="the fixed generator's noise around the data (default 0.3)")
    p.add_argument("--clip", type=float, default=0.01, help="weight clipping bound c (default 0.01, Arjovsky et al.)")
    p.add_argument("--gp", type=float, default=0.1,
                   help="gradient penalty weight lambda (default 0.1, as Gulrajani et al.'s script for the toy "
                        "worlds; their paper's 10 holds the norm nearer 1 but leaves this critic far from optimal "
                        "after these steps)")
    p.add_argument("--sigma", type=float, default=0.02, help="standard deviation of each Gaussian (default 0.02)")
    p.add_argument("--width", type=int, default=128, help="hidden units per layer (default 128)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--batch-size", type=int, default=256, help="samples per batch, real and fake (default 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, data and noise (default 0)")
    p.add_argument("--out", default="out", help="folder for critic_surfaces.png (default out)")
    args = p.parse_args(argv)
    problem = flags.out_of_range(args, counts=("steps", "width", "batch_size"),
                                 positive=("noise", "clip", "gp", "sigma", "lr"))
    if problem:
        p.error(problem)
    flags.make_folder(args.out)
    plt = gan.plots._matplotlib()
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.4))
    norms = {}
    for ax, (constraint, title) in zip(axes, [("clipping", f"weight clipping (c = {args.clip:g})"),
                                             ("penalty", f"gradient penalty (lambda = {args.gp:g})")]):
        D, norms[constraint] = train_critic(constraint, args)
        critic_surface(ax, D, None, f"{title}\nmean gradient norm {norms[constraint]:.3f}")
        print(f"{title}: the critic's mean gradient norm between real and fake points is {norms[constraint]:.3f}")
    fig.suptitle(f"critic value surfaces after {args.steps} steps (the generator fixed at data + noise)", fontsize=10)
    fig.tight_layout()
    path = os.path.join(args.out, "critic_surfaces.png")
    gan.save_figure(fig, path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return norms


if __name__ == "__main__":
    flags.run(main)
