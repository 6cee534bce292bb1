"""Mode collapse, watched as it happens: a GAN on a ring of 8 Gaussians in the plane.

    python examples/mixture_2d.py             # about a minute on a CPU; pictures in out/mixture_2d/

The data is the ring of the PacGAN paper's 2D-ring test (Lin et al., 2018): 8 Gaussians with standard
deviation 0.01 (here 0.02, see --sigma) centred on a circle of radius 1. Two figures are tracked every few
steps on 2,500 samples, as that paper does: modes covered (a mode counts when at least 20 samples lie within
3 standard deviations of its centre) and the percentage of high-quality samples (within 3 standard
deviations of some centre). For scale, its Table 1 reports a plain GAN covering 6.3 of 8 modes with 98.2%
high-quality samples.

Four runs compare the generator's loss (the non-saturating form against the paper's saturating minimax form)
and the discriminator's steps per generator step (k = 1 against k = 5). Writes a panel of samples over
training for each run, a GIF of all four, and the two figures over the steps.
"""
import argparse
import itertools
import os

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import gan, nn, optim

MODES = 8
RADIUS = 1.0
CENTRES = numpy.stack([RADIUS * numpy.cos(2 * numpy.pi * numpy.arange(MODES) / MODES),
                       RADIUS * numpy.sin(2 * numpy.pi * numpy.arange(MODES) / MODES)], 1)
RUNS = [("non-saturating, k=1", "nonsaturating", 1), ("non-saturating, k=5", "nonsaturating", 5),
        ("saturating (minimax), k=1", "minimax", 1), ("saturating (minimax), k=5", "minimax", 5)]


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


def run(name, loss, k, args):
    minigan.manual_seed(args.seed)
    rng = numpy.random.default_rng(args.seed)
    G, D = Generator(args.width), Critic(args.width)
    opt_G = optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
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
        gan.train_step(G, D, opt_G, opt_D, real_batches, noise, k, loss)   # Algorithm 1
    print(f"{name:28s} modes {history[-1][1]} of 8, high-quality samples {history[-1][2]:.1f}%")
    return history, snapshots


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--every", type=int, default=50, help="steps between measurements and frames")
    p.add_argument("--sigma", type=float, default=0.02, help="standard deviation of each Gaussian")
    p.add_argument("--width", type=int, default=128, help="hidden units per layer of both players")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("out", "mixture_2d"))
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results = {name: run(name, loss, k, args) for name, loss, k in RUNS}

    plt = gan.plots._matplotlib()
    from matplotlib.animation import FuncAnimation, PillowWriter
    columns = 6
    fig, axes = plt.subplots(len(RUNS), columns, figsize=(2.2 * columns, 2.3 * len(RUNS)))
    for row, (name, _, _) in zip(axes, RUNS):
        snaps = results[name][1]
        for ax, (step, points) in zip(row, [snaps[int(i)] for i in numpy.linspace(0, len(snaps) - 1, columns)]):
            _scatter(ax, points, f"step {step}")
        row[0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    panel = os.path.join(args.out, "mixture_2d_panel.png")
    fig.savefig(panel, dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for name, _, _ in RUNS:
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
    fig.savefig(figures, dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(RUNS), figsize=(3 * len(RUNS), 3.2))

    def frame(i):
        for ax, (name, _, _) in zip(axes, RUNS):
            step, points = results[name][1][i]
            _scatter(ax, points, f"{name}\nstep {step}")
    animation = FuncAnimation(fig, frame, frames=len(results[RUNS[0][0]][1]))
    gif = os.path.join(args.out, "mixture_2d.gif")
    animation.save(gif, writer=PillowWriter(fps=8))
    plt.close(fig)
    print(f"wrote {panel}, {figures} and {gif}")
    return {name: history for name, (history, _) in results.items()}


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
    main()
