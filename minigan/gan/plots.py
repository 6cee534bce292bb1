"""Pictures of a run: image grids and the curves of the two players' game (matplotlib), each written whole or
not at all (`files.atomic_write`)."""
import math
import os

import numpy

from minigan import files
from minigan.backend import is_int
from minigan.gan.sampling import as_numpy


def _matplotlib():
    import matplotlib
    matplotlib.use("Agg")  # files only: no window, works on machines without a screen
    import matplotlib.pyplot as plt
    return plt


PICTURES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")   # what matplotlib and Pillow write, by the name's ending


def _format(path):
    """The picture format a file name asks for (matplotlib's name for it), as a file object does not say; a
    name ending otherwise than PICTURES do is refused (it was Pillow's KeyError)."""
    ending = os.path.splitext(path)[1].lower()
    if ending not in PICTURES:
        raise ValueError(f"{path}: a picture's name must end in one of {', '.join(PICTURES)}")
    return ending[1:]


def save_figure(fig, path, **savefig_args):
    """fig.savefig(path, ...), written whole or not at all."""
    with files.atomic_write(path) as f:
        fig.savefig(f, format=_format(path), **savefig_args)
    return path


def save_animation(animation, path, fps):
    """A matplotlib animation as a GIF at `path`, written whole or not at all."""
    from matplotlib.animation import PillowWriter
    with files.atomic_write(path) as f:   # the writer takes only a name: the temporary file's
        animation.save(f.name, writer=PillowWriter(fps=fps))
    return path


def tile(images, nrow=None, pad=2):
    """(n, c, h, w) images in [-1, 1], an array or a tensor -> one (H, W) or (H, W, 3) array in [0, 1], nrow
    images per row."""
    images = numpy.asarray(as_numpy(images), dtype=numpy.float32)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"a grid takes images (n, c, h, w), at least one; got shape {images.shape}")
    if nrow is not None and not (is_int(nrow) and nrow >= 1):
        raise ValueError(f"a grid's nrow must be a whole number, at least 1; got {nrow!r}")
    n, c, h, w = images.shape
    nrow = nrow or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / nrow))
    canvas = numpy.ones((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), dtype=numpy.float32)
    for i in range(n):
        r, q = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        canvas[:, y:y + h, x:x + w] = (images[i] + 1) / 2
    canvas = canvas.clip(0, 1)
    return canvas[0] if c == 1 else canvas.transpose(1, 2, 0)


def save_grid(images, path, nrow=None):
    """Write images (n, c, h, w) in [-1, 1] as one PNG grid."""
    plt = _matplotlib()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    grid = tile(images, nrow)
    with files.atomic_write(path) as f:
        plt.imsave(f, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1, format=_format(path))
    return path


def plot_curves(rows, path, eval_rows=()):
    """The losses, D(x) and D(G(z)) (before and after the D step) or a critic's scores, the penalty, and the
    gradient norms over steps (the panels whose figures the log holds); with
    `eval_rows` (from eval.csv), the Frechet distance and the modes covered too.
    `rows`: dicts with a "step" key and the logged figures (as written to log.csv)."""
    plt = _matplotlib()
    steps = [int(r["step"]) for r in rows]
    panels = [("losses", ["loss_D", "loss_G"]),
              ("discriminator outputs", ["D(x)", "D(G(z)) before D step", "D(G(z)) after D step"]),
              ("critic scores (means) and the Wasserstein estimate E[D(x)] - E[D(G(z))]",
               ["E[D(x)]", "E[D(G(z))]", "W estimate"]),
              ("penalty term in D's loss", ["penalty"]),
              ("gradient norms", ["grad_norm_D", "grad_norm_G"])]
    panels = [(title, [k for k in keys if rows and k in rows[0]]) for title, keys in panels]
    panels = [p for p in panels if p[1]]
    extra = [("Frechet distance to real digits (classifier features)", "frechet_distance"),
             ("digits holding 2% of the samples", "modes")] if eval_rows else []
    fig, axes = plt.subplots(len(panels) + len(extra), 1, figsize=(8, 2.6 * (len(panels) + len(extra))), sharex=True)
    axes = numpy.atleast_1d(axes)
    for ax, (title, keys) in zip(axes, panels):
        for key in keys:
            values = numpy.array([float(r[key]) for r in rows])
            ax.plot(steps, values, lw=0.6, alpha=0.35)
            ax.plot(steps, _smooth(values), lw=1.5, label=key, color=ax.lines[-1].get_color())
        ax.set_title(title)
        ax.legend(loc="upper right", fontsize=8)
    for ax, (title, key) in zip(axes[len(panels):], extra):
        ax.plot([int(r["step"]) for r in eval_rows], [float(r[key]) for r in eval_rows], "o-")
        ax.set_title(title)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def _smooth(values, window=25):
    if len(values) < window:
        return values
    kernel = numpy.ones(window) / window
    padded = numpy.concatenate([numpy.full(window - 1, values[0]), values])
    return numpy.convolve(padded, kernel, mode="valid")
