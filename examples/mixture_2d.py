"""Mode collapse, watched as it happens: a GAN on a ring of 8 Gaussians in the plane.

    python examples/mixture_2d.py                   # the four runs below; pictures in out/mixture_2d/
    python examples/mixture_2d.py --loss wgan-gp    # one run with another loss, and its critic's surface

The data is the ring of the PacGAN paper's 2D-ring test (Lin et al., 2018): 8 Gaussians with standard
deviation 0.01 (here 0.02, see --sigma) centred on a circle of radius 1. Two figures are tracked every few
steps on 2,500 samples, as that paper does: modes covered (a mode counts when at least 20 samples lie within
3 standard deviations of its centre) and the percentage of high-quality samples (within 3 standard
deviations of some centre). For scale, its Table 1 reports a plain GAN covering 6.3 of 8 modes with 98.2%
high-quality samples.

By default four runs compare the generator's loss (the non-saturating form against the paper's saturating
minimax form) and the discriminator's steps per generator step (k = 1 against k = 5). With --loss, one run
plays that loss instead (wgan, wgan-gp, hinge, lsgan: see minigan/gan/losses.py), with the settings of
SETTINGS below, and, for a critic, also draws the critic's value surface over the plane at the end.
Writes a panel of samples over training for each run, a GIF, and the two figures over the steps.
"""
import argparse
import itertools
import os

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import flags, gan, nn, optim

MODES = 8
RADIUS = 1.0
CENTRES = numpy.stack([RADIUS * numpy.cos(2 * numpy.pi * numpy.arange(MODES) / MODES),
                       RADIUS * numpy.sin(2 * numpy.pi * numpy.arange(MODES) / MODES)], 1)
RUNS = [("non-saturating, k=1", "nonsaturating", 1), ("non-saturating, k=5", "nonsaturating", 5),
        ("saturating (minimax), k=1", "minimax", 1), ("saturating (minimax), k=5", "minimax", 5)]
# The other losses with their papers' settings at this world's scale. wgan: Arjovsky et al. (2017), RMSProp
# and 5 critic steps, weights clipped to 0.01. wgan-gp: the settings of Gulrajani et al.'s own script for
# these toy worlds (gan_toy.py in their code): 5 critic steps, lambda 0.1 (their comment: a smaller lambda
# is faster on toy tasks) and Adam with betas (0.5, 0.9); the learning rates are raised for a run of
# 1,000 steps (the papers' runs are far longer).
SETTINGS = {
    "wgan": dict(k=5, optimizer="rmsprop", lr=5e-4, clip=0.01),
    "wgan-gp": dict(k=5, betas=(0.5, 0.9), lr=3e-4, gp=0.1),
    "hinge": dict(k=1),
    "lsgan": dict(k=1),
}


def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class Generator(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.main = mlp([2, width, width, width, 2])

    def forward(self, z, labels=None):
        return self.main(z)


class Critic(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.main = mlp([2, width, width, 1])

    def forward(self, x, labels=None):
        return self.main(x).reshape(-1)


def sample_ring(rng, n, sigma):
    centres = CENTRES[rng.integers(0, MODES, n)]
    return (centres + sigma * rng.standard_normal((n, 2))).astype(numpy.float32)


def quality(points, sigma, per_mode=20):
    """(modes covered, percentage of high-quality samples), as defined in the module docstring."""
    distance = numpy.linalg.norm(points[:, None, :] - CENTRES[None], axis=2)
    nearest, close = distance.argmin(1), distance.min(1) < 3 * sigma
    counts = numpy.bincount(nearest[close], minlength=MODES)
    return int((counts >= per_mode).sum()), 100.0 * close.mean()


def run(name, loss, args, k=1, optimizer="adam", lr=1e-3, betas=(0.5, 0.999), gp=0.0, clip=0.0):
    minigan.manual_seed(args.seed)
    rng = numpy.random.default_rng(args.seed)
    G, D = Generator(args.width), Critic(args.width)
    lr = args.lr or lr
    make = ((lambda m: optim.RMSprop(m.parameters(), lr=lr)) if optimizer == "rmsprop"
            else (lambda m: optim.Adam(m.parameters(), lr=lr, betas=betas)))
    opt_G, opt_D = make(G), make(D)
    fixed_z = minigan.randn(2500, 2)
    real_batches = ((minigan.tensor(sample_ring(rng, args.batch_size, args.sigma)), None)
                    for _ in itertools.count())   # (real minibatch, no labels), forever
    noise = lambda n: minigan.randn(n, 2)  # noqa: E731
    history, snapshots = [], []
    for step in range(args.steps + 1):
        if step % args.every == 0:
            with minigan.no_grad():
                points = G(fixed_z).numpy()
            modes, hq = quality(points, args.sigma)
            history.append((step, modes, hq))
            snapshots.append((step, points))
        if step == args.steps:
            break
        gan.train_step(G, D, opt_G, opt_D, real_batches, noise, k, gan.played(loss), gp=gp, clip=clip)  # Algorithm 1
    print(f"{name:28s} modes {history[-1][1]} of 8, high-quality samples {history[-1][2]:.1f}%")
    return history, snapshots, D


def critic_surface(ax, D, points, title, extent=1.6, grid=121):
    """D's value over the plane as filled contours, with the real modes and `points` (samples) on top."""
    xs = numpy.linspace(-extent, extent, grid, dtype=numpy.float32)
    plane = numpy.stack(numpy.meshgrid(xs, xs), -1).reshape(-1, 2)
    with minigan.no_grad():
        values = D(minigan.tensor(plane)).numpy().reshape(grid, grid)
    ax.contourf(xs, xs, values, levels=30, cmap="viridis")
    ax.scatter(CENTRES[:, 0], CENTRES[:, 1], s=40, c="none", edgecolors="red", lw=1)
    if points is not None:
        ax.scatter(points[:, 0], points[:, 1], s=1, c="white", alpha=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1000, help="generator steps of each run (default 1000)")
    p.add_argument("--every", type=int, default=50, help="steps between measurements and frames (default 50)")
    p.add_argument("--sigma", type=float, default=0.02, help="standard deviation of each Gaussian (default 0.02)")
    p.add_argument("--width", type=int, default=128, help="hidden units per layer of both players (default 128)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate of both players (default 1e-3; with --loss, its SETTINGS' rate)")
    p.add_argument("--batch-size", type=int, default=256, help="samples per batch, real and fake (default 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, data and noise (default 0)")
    p.add_argument("--loss", choices=sorted(SETTINGS), default=None,
                   help="one run with this loss and its paper's settings (SETTINGS), in place of the four runs")
    p.add_argument("--out", default=os.path.join("out", "mixture_2d"),
                   help="folder for the pictures (default out/mixture_2d)")
    args = p.parse_args(argv)
    problem = flags.out_of_range(args, counts=("steps", "every", "width", "batch_size"), positive=("sigma", "lr"))
    if problem:
        p.error(problem)
    flags.make_folder(args.out)
    plt = gan.plots._matplotlib()
    if args.loss:
        settings = SETTINGS[args.loss]
        runs = [(f"{args.loss}, k={settings['k']}", args.loss, settings)]
    else:
        runs = [(name, loss, {"k": k}) for name, loss, k in RUNS]
    results = {name: run(name, loss, args, **settings) for name, loss, settings in runs}
    if args.loss in ("wgan", "wgan-gp", "hinge"):
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
        name = runs[0][0]
        critic_surface(ax, results[name][2], results[name][1][-1][1], f"the critic after {args.steps} steps: {name}")
        fig.tight_layout()
        surface = os.path.join(args.out, "critic_surface.png")
        gan.save_figure(fig, surface, dpi=100)
        plt.close(fig)
        print(f"wrote {surface}")
    names = [name for name, _, _ in runs]

    from matplotlib.animation import FuncAnimation
    columns = 6
    fig, axes = plt.subplots(len(names), columns, figsize=(2.2 * columns, 2.3 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        snaps = results[name][1]
        for ax, (step, points) in zip(row, [snaps[int(i)] for i in numpy.linspace(0, len(snaps) - 1, columns)]):
            _scatter(ax, points, f"step {step}")
        row[0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    panel = os.path.join(args.out, "mixture_2d_panel.png")
    gan.save_figure(fig, panel, dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for name in names:
        steps, modes, hq = zip(*results[name][0])
        axes[0].plot(steps, modes, label=name)
        axes[1].plot(steps, hq, label=name)
    axes[0].set_title("modes covered (of 8)")
    axes[1].set_title("high-quality samples (%)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    figures = os.path.join(args.out, "mixture_2d_modes.png")
    gan.save_figure(fig, figures, dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 3.2), squeeze=False)

    def frame(i):
        for ax, name in zip(axes[0], names):
            step, points = results[name][1][i]
            _scatter(ax, points, f"{name}\nstep {step}")
    animation = FuncAnimation(fig, frame, frames=len(results[names[0]][1]))
    gif = os.path.join(args.out, "mixture_2d.gif")
    gan.save_animation(animation, gif, fps=8)
    plt.close(fig)
    print(f"wrote {panel}, {figures} and {gif}")
    return {name: history for name, (history, _, _) in results.items()}


def _scatter(ax, points, title):
    ax.clear()
    ax.scatter(CENTRES[:, 0], CENTRES[:, 1], s=40, c="none", edgecolors="red", lw=1)
    ax.scatter(points[:, 0], points[:, 1], s=1, c="green", alpha=0.4)
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.6, 1.6)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


if __name__ == "__main__":
    flags.run(main)
