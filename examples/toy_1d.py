"""The one-dimensional game of Goodfellow et al. (2014), Figure 1, trained and drawn as the paper draws it.

    python examples/toy_1d.py                 # about 10 s on a 2-core CPU; pictures in out/toy_1d/

Data x ~ N(2, 0.5^2). The generator maps uniform noise z ~ U(-1, 1) through a small MLP; the discriminator
is a small MLP. Each snapshot shows, as in the paper's figure: the data density (black, dotted), the
generator's density p_g (green), the learned discriminator D(x) (blue, dashed), and beside it the optimal
discriminator for the current generator, D*(x) = p_data(x) / (p_data(x) + p_g(x)) (grey); below, the lines
from a few z to the x = G(z) they are mapped to. As training goes on, p_g moves onto p_data and D flattens
towards 1/2, the equilibrium of the game.
"""
import argparse
import os

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import flags, gan, nn, optim

MEAN, STD = 2.0, 0.5
GRID = numpy.linspace(-1.5, 4.5, 400)


class Player(nn.Module):
    """A small MLP from one number to one number (the discriminator's output is a logit)."""

    def __init__(self, hidden=32):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                  nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x, labels=None):
        return self.main(x)


class Critic(Player):
    def forward(self, x, labels=None):
        return self.main(x).reshape(-1)


def p_data(x):
    return numpy.exp(-0.5 * ((x - MEAN) / STD) ** 2) / (STD * numpy.sqrt(2 * numpy.pi))


def density(samples, grid=GRID, bandwidth=0.08):
    """A Gaussian kernel density estimate of p_g on the grid."""
    d = (grid[:, None] - samples[None, :]) / bandwidth
    return numpy.exp(-0.5 * d * d).sum(1) / (len(samples) * bandwidth * numpy.sqrt(2 * numpy.pi))


def snapshot(G, D, step):
    """What one frame draws: the densities, the learned and the optimal D, and the z -> x map."""
    with minigan.no_grad():
        z = numpy.linspace(-1, 1, 4000, dtype=numpy.float32)[:, None]
        x = G(minigan.tensor(z)).numpy()[:, 0]
        d = minigan.sigmoid(D(minigan.tensor(GRID[:, None].astype(numpy.float32)))).numpy()
    pg = density(x)
    return {"step": step, "pg": pg, "d": d, "d_star": p_data(GRID) / (p_data(GRID) + pg + 1e-12),
            "z": z[::400, 0], "x": x[::400]}


def draw(ax, frame):
    ax.clear()
    ax.plot(GRID, p_data(GRID), "k:", lw=2, label="data")
    ax.plot(GRID, frame["pg"], "g-", lw=2, label="generator $p_g$")
    ax.plot(GRID, frame["d"], "b--", lw=2, label="$D(x)$")
    ax.plot(GRID, frame["d_star"], color="0.6", lw=1, label="$D^*(x) = p_{data} / (p_{data} + p_g)$")
    for z, x in zip(frame["z"], frame["x"]):     # the map from noise to samples, under the densities
        ax.annotate("", xy=(x, -0.15), xytext=((z + 1) * 3 - 1.5, -0.55),
                    arrowprops=dict(arrowstyle="->", color="0.4", lw=0.8))
    ax.axhline(-0.15, color="k", lw=0.6)
    ax.axhline(-0.55, color="k", lw=0.6)
    ax.text(-1.45, -0.5, "z", fontsize=9)
    ax.text(-1.45, -0.1, "x", fontsize=9)
    ax.set_ylim(-0.6, 1.1)
    ax.set_xlim(GRID[0], GRID[-1])
    ax.set_title(f"step {frame['step']}")
    ax.set_yticks([0, 0.5, 1])


def train(args):
    minigan.manual_seed(args.seed)
    rng = numpy.random.default_rng(args.seed)
    G, D = Player(), Critic()
    opt_G = optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    frames = [snapshot(G, D, 0)]

    def data():                               # real minibatches from N(MEAN, STD^2), no labels
        while True:
            yield minigan.tensor(rng.normal(MEAN, STD, (args.batch_size, 1)).astype(numpy.float32)), None

    def noise(n):                             # z ~ U[-1, 1], as in the paper's figure
        return minigan.tensor(rng.uniform(-1, 1, (n, 1)).astype(numpy.float32))

    real_batches = data()
    for step in range(1, args.steps + 1):
        gan.train_step(G, D, opt_G, opt_D, real_batches, noise, args.k, args.loss)   # Algorithm 1
        if step % args.frame_every == 0:
            frames.append(snapshot(G, D, step))
    return frames


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000, help="generator steps (default 3000)")
    p.add_argument("--k", type=int, default=1, help="discriminator steps per generator step (default 1)")
    p.add_argument("--loss", choices=gan.PROBABILITY_LOSSES, default="nonsaturating",
                   help="the generator's loss: nonsaturating (the default) or the paper's saturating minimax")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of both players (default 1e-3)")
    p.add_argument("--batch-size", type=int, default=128, help="samples per batch, real and fake (default 128)")
    p.add_argument("--frame-every", type=int, default=50, help="steps between the GIF's frames (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, data and noise (default 0)")
    p.add_argument("--out", default=os.path.join("out", "toy_1d"), help="folder for the pictures (default out/toy_1d)")
    args = p.parse_args(argv)
    problem = flags.out_of_range(args, counts=("steps", "k", "batch_size", "frame_every"), positive=("lr",))
    if problem:
        p.error(problem)
    flags.make_folder(args.out)
    frames = train(args)

    plt = gan.plots._matplotlib()
    from matplotlib.animation import FuncAnimation
    chosen = [frames[int(i)] for i in numpy.linspace(0, len(frames) - 1, 4)]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), sharey=True)
    for ax, frame in zip(axes, chosen):
        draw(ax, frame)
    axes[0].legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    panel = os.path.join(args.out, "toy_1d_panel.png")
    gan.save_figure(fig, panel, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.6))
    animation = FuncAnimation(fig, lambda i: draw(ax, frames[i]), frames=len(frames))
    gif = os.path.join(args.out, "toy_1d.gif")
    gan.save_animation(animation, gif, fps=12)
    plt.close(fig)
    final = frames[-1]
    print(f"after {args.steps} steps: mean D(x) over the data's range {final['d'][(GRID > 1) & (GRID < 3)].mean():.2f} "
          f"(1/2 at the equilibrium)\nwrote {panel} and {gif}")
    return frames


if __name__ == "__main__":
    flags.run(main)
