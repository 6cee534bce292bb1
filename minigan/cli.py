"""`python -m minigan`: sample from a trained run, score it, and fetch MNIST.

    python -m minigan sample --checkpoint out/checkpoint.npz --n 64 --out grid.png
    python -m minigan eval --checkpoint out/checkpoint.npz
    python -m minigan eval --png-dir samples/                  # pictures from sample --png-dir, or elsewhere
    python -m minigan sample --checkpoint out/checkpoint.npz --n 10000 --npy samples.npy
    python -m minigan sample --checkpoint out/checkpoint.npz --interpolate --out walk.png
    python -m minigan sample --checkpoint out/checkpoint.npz --n 1000 --png-dir samples/
    python -m minigan download mnist
"""
import argparse
import glob
import os
import shlex

import numpy

from minigan import backend, data, files, flags
from minigan.checkpoint import CheckpointError


def slerp(a, b, t):
    """Spherical interpolation between latent points a and b (rows), at fractions t in [0, 1]."""
    unit_a = a / numpy.linalg.norm(a, axis=-1, keepdims=True)
    unit_b = b / numpy.linalg.norm(b, axis=-1, keepdims=True)
    omega = numpy.arccos(numpy.clip((unit_a * unit_b).sum(-1, keepdims=True), -1, 1))
    so = numpy.sin(omega)
    so = numpy.where(so == 0, 1.0, so)
    return numpy.where(omega == 0, (1 - t) * a + t * b,
                       numpy.sin((1 - t) * omega) / so * a + numpy.sin(t * omega) / so * b)


def label_number(label, config):
    """The label that --label names: a class's name (a sub-folder's, for a folder of pictures), or its number."""
    from minigan.gan import class_names, list_classes
    if not config["conditional"]:
        raise SystemExit("error: --label needs a conditional model; this checkpoint's model is not conditional")
    names = class_names(config)
    if label in names:
        return names.index(label)
    if label.isdigit() and int(label) < len(names):
        return int(label)
    raise SystemExit(f"error: --label {label!r} is none of the model's classes: {list_classes(names)}")


def sample(args):
    from minigan.gan import class_labels, generate, load_generator, save_grid, to_pixels
    backend.check_device(args.device)
    G, config, _ = load_generator(args.checkpoint, args.device, args.generator)
    rng = numpy.random.default_rng(args.seed)
    nz = config["nz"]
    label = None if args.label is None else label_number(args.label, config)
    classes = config["classes"]
    if args.interpolate:
        rows, steps = max(1, args.n // 10), 10
        ends = rng.standard_normal((2, rows, 1, nz))
        z = slerp(ends[0], ends[1], numpy.linspace(0, 1, steps)[None, :, None]).reshape(-1, nz)
        labels = numpy.repeat(class_labels(rows, config), steps) if config["conditional"] else None
    else:
        z = rng.standard_normal((args.n, nz))
        labels = class_labels(args.n, config)
    if label is not None:
        labels = numpy.full(len(z), label)
    images = generate(G, z, labels, args.device)
    wrote = []
    if args.npy:
        pixels = to_pixels(images)
        with files.atomic_write(args.npy) as f:
            numpy.save(f, pixels)
        wrote.append(f"{args.npy} ({len(pixels)} images, uint8 0-255, shape {pixels.shape})")
    if args.png_dir:
        first, last = write_pngs(to_pixels(images), args.png_dir)
        wrote.append(f"{len(images)} PNGs in {args.png_dir} ({first} to {last})")
    if args.out or not (args.npy or args.png_dir):
        path = args.out or "samples.png"
        columns = 10 if args.interpolate else classes if config["conditional"] else None   # a class a column
        save_grid(images[:GRID_MOST], path, nrow=columns)
        wrote.append(path + (f" (the first {GRID_MOST} images)" if len(images) > GRID_MOST else ""))
    print("wrote " + ", ".join(wrote))


def write_pngs(pixels, folder):
    """Each image of `pixels` (uint8, (n, h, w) grey or (n, 3, h, w) colour) as a PNG file of its own in
    `folder`, sample_00000.png onwards (what other tools read); returns the first and last names. A folder
    that already holds samples is refused rather than written over."""
    from PIL import Image
    flags.make_folder(folder, "--png-dir")
    if glob.glob(os.path.join(glob.escape(folder), "sample_*.png")):
        raise SystemExit(f"error: {folder} already holds sample PNGs; choose another --png-dir or empty it")
    if pixels.ndim == 4:
        pixels = pixels.transpose(0, 2, 3, 1)   # (n, h, w, 3), as Pillow reads colour
    names = [f"sample_{i:0{max(5, len(str(len(pixels) - 1)))}d}.png" for i in range(len(pixels))]
    for name, image in zip(names, pixels):
        with files.atomic_write(os.path.join(folder, name)) as f:
            Image.fromarray(image).save(f, format="PNG")
    return names[0], names[-1]


GRID_MOST = 400   # images in one picture; more go to --npy or --png-dir


def check_sample_args(args):
    """An error message for sample's flags, or None."""
    problem = args.out and flags.picture_name(args.out, "--out")
    if problem:
        return problem
    if args.n > GRID_MOST and not (args.npy or args.png_dir):
        return (f"--n {args.n}: a picture holds at most {GRID_MOST} images; add --npy FILE.npy or --png-dir DIR "
                "to keep them all")
    return ((args.npy and flags.file_to_write(args.npy, "--npy", ending=".npy"))
            or (args.out and flags.file_to_write(args.out, "--out", folder_is_made=True)))


def add_generator_choice(parser):
    from minigan.gan.run import GENERATORS
    parser.add_argument("--generator", choices=GENERATORS, default=None,
                        help="averaged: the run's averaged generator (the default when it kept one, with --ema); "
                             "raw: the generator as trained")


def download(args):
    folder = data.sources.download_folder(args.dest)
    new = flags.make_folder(folder, "--dest" if args.dest else "the cache folder")
    try:
        data.download_mnist(folder)
    except data.DataNotFound:
        if new and not os.listdir(folder):   # nothing fetched: the folder made for it goes too
            os.rmdir(folder)
        raise
    print(f"MNIST is in {folder}; train with: python examples/mnist_gan.py --data {shlex.quote(folder)}")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m minigan", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="draw images from a trained generator", description=(
        "Draw images from the generator of a run checkpoint: a grid (--out), a .npy array (--npy), a PNG per "
        "image (--png-dir), one class of a conditional model (--label), or walks between latent points "
        "(--interpolate). The same --seed draws the same images."))
    s.add_argument("--checkpoint", required=True, help="a run checkpoint written by examples/mnist_gan.py")
    s.add_argument("--n", type=int, default=64, help="how many images (default 64)")
    s.add_argument("--out", help="write a PNG grid here (default samples.png unless --npy is given)")
    s.add_argument("--npy", help="save the images to this .npy file as uint8 pixels 0-255, shape (n, h, w) "
                                 "for grey images and (n, 3, h, w) for colour")
    s.add_argument("--png-dir", metavar="DIR",
                   help="write each image as its own PNG file in DIR (sample_00000.png, ...)")
    s.add_argument("--label", help="for a conditional model: draw only this class, by its name (a digit, a "
                                   "Fashion-MNIST article, a sub-folder's name) or its number")
    s.add_argument("--interpolate", action="store_true",
                   help="rows of 10 images walking (slerp) between two random latent points: --n // 10 rows "
                        "(at least one; 6 rows, 60 images, by default)")
    s.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    flags.add_device(s, "generate")
    add_generator_choice(s)
    s.set_defaults(run=sample, check=check_sample_args)
    d = sub.add_parser("download", help="fetch a dataset's IDX files, checking their sizes and SHA-256",
                       description="Fetch MNIST's four IDX files (60,000 training digits and 10,000 test digits), "
                                   "check each one's size and SHA-256, and say how to train on them. minigan trains "
                                   "without them, on the 10,000 digits it ships.")
    d.add_argument("dataset", choices=["mnist"], help="the dataset to fetch: mnist (Fashion-MNIST is not fetched)")
    d.add_argument("--dest", help="folder to write to (default ~/.cache/minigan/mnist)")
    d.set_defaults(run=download)
    from minigan.metrics.cli import add_eval_command
    add_eval_command(sub, add_generator_choice)
    args = p.parse_args(argv)
    problem = flags.out_of_range(args, counts=("n",)) if args.command != "download" else None
    problem = problem or (args.check(args) if hasattr(args, "check") else None)   # the command's own checks
    if problem:
        sub.choices[args.command].error(problem)   # with the command's usage: `python -m minigan sample: error:`
    try:
        args.run(args)
    except (CheckpointError, RuntimeError, data.DataNotFound, OSError) as error:
        raise SystemExit(f"error: {error}") from None
    return 0
