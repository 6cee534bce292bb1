"""The metrics' calibration table in the README: what `python -m minigan eval` reports for inputs whose answer
is known, to read a run's own figures against.

    python scripts/calibrate_metrics.py

Rows: the real digits' floor (two halves of the embedded digits, 5,000 against 5,000); the 1,000 digits the
classifier never saw; the reference DCGAN's raw generator after 2,000 steps over three seeds (read from
benchmarks/results_quality_cpu.json, which `benchmarks/quality_vs_torch.py` writes); 10,000 images of uniform
noise; and one seven repeated 10,000 times.
"""
import argparse
import json
import os

import numpy

import minigan  # noqa: F401  (before NumPy's first use: see minigan/machine.py)
from minigan import data
from minigan.metrics import Evaluator
from minigan.metrics.classifier import held_out_split

QUALITY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks",
                       "results_quality_cpu.json")


def row(name, *cells):
    return f"| {name} | " + " | ".join(cells) + " |"


def scored(name, scores):
    return row(name, f"{scores.frechet_distance:.1f}", f"{scores.inception_score:.2f}",
               f"{scores.modes}" + (" (flagged: mode collapse)" if scores.collapsed() else ""),
               f"{scores.class_kl:.3f}", f"{scores.near_duplicates:.3f}")


def spread(values, digits):
    low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return low if low == high else f"{low}-{high}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)   # no flags: only --help, and a clear error for anything else
    evaluator = Evaluator()
    images, labels = data.load_embedded()
    _, held = held_out_split(len(images))
    print(row("images of ...", "Frechet distance", "inception score", "modes", "class KL", "near-duplicates"))
    print("|---|---:|---:|---:|---:|---:|")
    print(scored("real digits (floor: two halves, 5,000 vs 5,000)", evaluator.real_floor()))
    print(scored(f"the {len(held):,} held-out real digits", evaluator.score(images[held])))
    with open(QUALITY) as f:
        runs = [r for r in json.load(f)["runs"] if r["framework"] == "minigan raw"]
    print(row(f"the reference DCGAN after 2,000 steps ({len(runs)} seeds, 10,000 samples each)",
              spread([r["frechet_distance"] for r in runs], 1), spread([r["inception_score"] for r in runs], 2),
              spread([r["modes"] for r in runs], 0), spread([r["class_kl"] for r in runs], 3),
              spread([r["near_duplicates"] for r in runs], 3)))
    noise = numpy.random.default_rng(0).integers(0, 256, (10_000, 28, 28)).astype(numpy.uint8)
    print(scored("10,000 images of uniform noise (uint8)", evaluator.score(noise)))
    seven = images[labels == 7][:1]
    print(scored("one seven, repeated 10,000 times", evaluator.score(numpy.repeat(seven, 10_000, axis=0))))


if __name__ == "__main__":
    main()
