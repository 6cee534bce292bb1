"""Write a folder of synthetic pictures to train on: coloured shapes on plain backgrounds, one sub-folder
per shape (circles/, squares/, triangles/), so that `--conditional` has labels.

    python scripts/make_shapes.py shapes/ --n 3000
    python examples/mnist_gan.py --dataset folder --data shapes/ --image-size 32 --steps 1000

Each picture is 48 x 48 (the loader centre-crops and resizes it): a shape of random colour, size and place
on a background of another random, darker colour.
"""
import argparse
import os

import numpy
from PIL import Image, ImageDraw

from minigan import flags
from minigan.data.folder import list_pictures

SHAPES = ("circle", "square", "triangle")


def picture(rng, shape, size=48):
    background = tuple(int(c) for c in rng.integers(0, 100, 3))
    colour = tuple(int(c) for c in rng.integers(120, 256, 3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    r = int(rng.integers(size // 6, size // 3))
    cx, cy = (int(v) for v in rng.integers(r + 2, size - r - 2, 2))
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return image


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="where to write the pictures (created; it must hold no pictures yet)")
    p.add_argument("--n", type=int, default=3000, help="how many pictures, shared among the shapes (default 3000)")
    p.add_argument("--seed", type=int, default=0, help="the random stream's seed: the same seed, the same pictures "
                                                          "(default 0)")
    args = p.parse_args(argv)
    if args.n < len(SHAPES):
        p.error(f"--n must be at least {len(SHAPES)}")
    problem = flags.out_of_range(args)   # the seed
    if problem:
        p.error(problem)
    flags.make_folder(args.folder, "folder")
    held = list_pictures(args.folder)
    if held:   # the shapes would join them as classes of their own, or write over them
        p.error(f"{args.folder} already holds {len(held)} picture(s) ({held[0]}"
                + (", ..." if len(held) > 1 else "") + "); choose a new or empty folder")
    for shape in SHAPES:
        os.makedirs(os.path.join(args.folder, shape + "s"), exist_ok=True)
    rng = numpy.random.default_rng(args.seed)
    for i in range(args.n):
        shape = SHAPES[i % len(SHAPES)]
        picture(rng, shape).save(os.path.join(args.folder, shape + "s", f"{i:05d}.png"))
    print(f"wrote {args.n} pictures to {args.folder}")


if __name__ == "__main__":
    main()
