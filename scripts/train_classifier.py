"""Train the metrics' digit classifier with minigan, reproducibly, and write its weights.

    python scripts/train_classifier.py --out classifier.npz     # about 40 s on a 2-core CPU

Trains on the embedded digits except a held-out 1,000 (fixed by a seed), with small random shifts as
augmentation, then reports the held-out accuracy and writes the weights, by default over the shipped ones in
minigan/metrics/classifier.npz, which it replaces only with --force: every score in the README was made with
them, and other weights give other figures.
"""
import argparse
import os
import time

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy

from minigan import checkpoint, data, flags, optim
from minigan.metrics.classifier import WEIGHTS, DigitClassifier, held_out_split


def shifted(images, rng, most=2):
    """Each image moved by up to `most` pixels in each direction (zeros, i.e. -1, fill the gap)."""
    out = numpy.full_like(images, -1.0)
    n = len(images)
    dy, dx = rng.integers(-most, most + 1, n), rng.integers(-most, most + 1, n)
    for i in range(n):
        ys, xs = slice(max(dy[i], 0), 28 + min(dy[i], 0)), slice(max(dx[i], 0), 28 + min(dx[i], 0))
        yt, xt = slice(max(-dy[i], 0), 28 + min(-dy[i], 0)), slice(max(-dx[i], 0), 28 + min(-dx[i], 0))
        out[i, :, ys, xs] = images[i, :, yt, xt]
    return out


def accuracy(model, images, labels):
    model.eval()
    with minigan.no_grad():
        predictions = numpy.concatenate([model(minigan.tensor(images[i:i + 500])).numpy().argmax(1)
                                         for i in range(0, len(images), 500)])
    model.train()
    return (predictions == labels).mean()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=12, help="passes over the training digits (default 12)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batches' order (default 0)")
    p.add_argument("--out", default=WEIGHTS, help=f"where to write the weights (default {WEIGHTS})")
    p.add_argument("--force", action="store_true", help="replace the file --out names if there is one")
    args = p.parse_args()
    # --epochs 0 would write untrained weights; a bad --out would be found only after the training
    problem = flags.out_of_range(args, counts=("epochs",)) or flags.file_to_write(args.out, "--out")
    if not problem and os.path.exists(args.out) and not args.force:
        shipped = os.path.samefile(args.out, WEIGHTS)
        problem = (f"--out {args.out} exists" + (" (the shipped classifier, with which every score in the README "
                                                 "was made)" if shipped else "")
                   + "; name another file, or replace it with --force")
    if problem:
        p.error(problem)
    minigan.manual_seed(args.seed)
    rng = numpy.random.default_rng(args.seed)
    images, labels = data.load_embedded()
    images = data.to_unit_range(images)
    train, held = held_out_split(len(images))
    model = DigitClassifier()
    opt = optim.Adam(model.parameters(), lr=2e-3)
    start = time.time()
    for epoch in range(args.epochs):
        if epoch == args.epochs * 2 // 3:
            opt.hyper["lr"] = 5e-4
        order = rng.permutation(train)
        for i in range(0, len(order) - 63, 64):
            batch = order[i:i + 64]
            x = minigan.tensor(shifted(images[batch], rng))
            opt.zero_grad()
            minigan.cross_entropy(model(x), minigan.tensor(labels[batch].astype(numpy.int64))).backward()
            opt.step()
        print(f"epoch {epoch + 1}: held-out accuracy {accuracy(model, images[held], labels[held]):.4f} "
              f"({time.time() - start:.0f} s)")
    final = accuracy(model, images[held], labels[held])
    checkpoint.save({"model": model.state_dict(), "held_out_accuracy": float(final),
                     "seed": args.seed, "epochs": args.epochs}, args.out)
    print(f"wrote {args.out}: held-out accuracy {final:.4f} on {len(held)} digits")


if __name__ == "__main__":
    main()
