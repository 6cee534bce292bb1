"""Evaluating generated digits against the embedded real ones, with the floors beside the scores.

Sample counts are fixed so that figures are comparable: the Frechet distance is taken between 5,000
generated and 5,000 real digits (two such pairs, averaged), and its floor between two disjoint halves of the
10,000 real digits (5,000 against 5,000). The near-duplicate threshold is 1/4 of the median nearest-
neighbour distance among the real digits' features (reported with the scores).
"""
import functools
from dataclasses import asdict, dataclass, field

import numpy

from minigan.data import load_embedded
from minigan.metrics.classifier import embed, load_classifier
from minigan.metrics.scores import (
    frechet_distance, gaussian, inception_score, mode_coverage, near_duplicate_rate, nearest_neighbour_distances)

DEFAULT_SAMPLES = 10_000
COLLAPSE_MODES = 8  # fewer classes than this holding 2% of the samples each: warned about as mode collapse


def frechet_count(samples, half):
    """How many generated samples each Frechet distance reads: half of them, against one real half each, and
    no more than the `half`'s own count (all of them when there are fewer than 4)."""
    return min(samples // 2, half) if samples >= 4 else samples


@dataclass
class Scores:
    samples: int
    frechet_distance: float
    inception_score: float
    modes: int
    class_kl: float
    near_duplicates: float
    histogram: list = field(default_factory=list)

    def collapsed(self):
        return self.modes < COLLAPSE_MODES

    def as_dict(self):
        return asdict(self)


def _real_digits(classifier):
    """What `classifier` makes of the embedded real digits: their features and class probabilities, the two
    disjoint halves the Frechet distance compares against (their Gaussians), and the near-duplicate threshold.
    The arrays are made read-only: the shipped classifier's are shared by every Evaluator of the process."""
    images, _ = load_embedded()
    features, probabilities = embed(classifier, images)
    order = numpy.random.default_rng(0).permutation(len(images))
    halves = order[:len(images) // 2], order[len(images) // 2:]
    gaussians = [gaussian(features[h]) for h in halves]
    for array in (features, probabilities, *halves, *sum(gaussians, ())):
        array.flags.writeable = False
    return features, probabilities, halves, gaussians, 0.25 * numpy.median(nearest_neighbour_distances(features))


@functools.lru_cache(maxsize=1)
def _shipped():
    """The shipped classifier and its view of the real digits, made once per process: loading the classifier,
    embedding the 10,000 digits and their near-duplicate threshold take seconds (1.8-2.1 on a 2-core AMD EPYC),
    which every score after the first would pay again."""
    classifier = load_classifier()
    return classifier, _real_digits(classifier)


class Evaluator:
    """Holds the classifier and the real digits' features; scores any set of 28x28 digits."""

    def __init__(self, classifier=None):
        self.classifier, real = _shipped() if classifier is None else (classifier, _real_digits(classifier))
        self.real_features, self.real_probabilities, self.halves, self.real_halves, self.threshold = real
        self._floor = None

    def _frechet(self, features):
        """Frechet distance of generated features against the real halves, at matched counts."""
        n = frechet_count(len(features), len(self.halves[0]))
        pairs = [(features[:n], 1), (features[n:2 * n], 0)] if len(features) >= 4 else [(features, 1)]
        return float(numpy.mean([frechet_distance(*gaussian(f), *self.real_halves[h]) for f, h in pairs]))

    def score(self, images):
        features, probabilities = embed(self.classifier, images)
        modes, kl, histogram = mode_coverage(probabilities)
        return Scores(len(features), self._frechet(features), inception_score(probabilities), modes, kl,
                      near_duplicate_rate(features, self.threshold), histogram.round(4).tolist())

    def real_floor(self):
        """The same figures for real digits: Frechet distance between the two real halves; the rest on all."""
        if self._floor is None:
            modes, kl, histogram = mode_coverage(self.real_probabilities)
            self._floor = Scores(len(self.halves[0]), frechet_distance(*self.real_halves[0], *self.real_halves[1]),
                                 inception_score(self.real_probabilities), modes, kl,
                                 near_duplicate_rate(self.real_features, self.threshold), histogram.round(4).tolist())
        return self._floor

    def class_accuracy(self, images, labels):
        """For a conditional model: per class, how often the classifier sees the digit that was asked for."""
        _, probabilities = embed(self.classifier, images)
        predicted = probabilities.argmax(1)
        labels = numpy.asarray(labels)
        return {int(c): float((predicted[labels == c] == c).mean()) for c in numpy.unique(labels)}


def report(scores, floor):
    """A table of the scores beside the real digits' figures, with a note when the Frechet distance read fewer
    samples than the real digits' floor, and is therefore larger than the same samples' would be at full count."""
    compared = frechet_count(scores.samples, floor.samples)
    rows = [("Frechet distance (features)", f"{scores.frechet_distance:.2f}", f"{floor.frechet_distance:.2f}",
             f"lower is better; {compared:,} vs {floor.samples:,}"
             + (f" (real: {floor.samples:,} vs {floor.samples:,})" if compared != floor.samples else "")),
            ("inception score", f"{scores.inception_score:.2f}", f"{floor.inception_score:.2f}", "at most 10"),
            ("modes (classes >= 2%)", f"{scores.modes}", f"{floor.modes}", "of 10"),
            ("KL(class histogram || uniform)", f"{scores.class_kl:.3f}", f"{floor.class_kl:.3f}", "0 = balanced"),
            ("near-duplicate rate", f"{scores.near_duplicates:.3f}", f"{floor.near_duplicates:.3f}", "")]
    lines = [f"{'':32s} {'samples':>9s} {'real digits':>12s}", *[f"{a:32s} {b:>9s} {c:>12s}   {d}" for a, b, c, d in rows],
             f"({scores.samples:,} generated samples; histogram {scores.histogram})"]
    if compared < floor.samples:
        lines.append(f"note: the Frechet distance compares {compared:,} samples with {floor.samples:,} real digits; "
                     f"fewer samples make it larger, so compare it only with figures of the same count (the "
                     f"README's come from {DEFAULT_SAMPLES:,} samples)")
    if scores.collapsed():
        lines.append(f"WARNING: mode collapse: only {scores.modes} of 10 digits hold 2% of the samples")
    return "\n".join(lines)
