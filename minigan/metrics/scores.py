"""What a set of generated digits is worth, measured in the classifier's eyes.

    frechet_distance     the distance between two Gaussians fitted to features (the FID recipe of Heusel et
                         al., 2017, with the digit classifier's 64 penultimate features instead of Inception's)
    inception_score      exp E_x[KL(p(y|x) || p(y))] (Salimans et al., 2016): between 1 and the 10 classes
    mode_coverage        classes holding at least 2% of samples, and KL(class histogram || uniform)
    near_duplicate_rate  the share of samples whose nearest other sample is almost the same image

All of them depend on the number of samples; report it, and report the same figure for real digits (the
floor, or for the inception score the ceiling) beside every score.
"""
import numpy


def gaussian(features):
    """Mean and covariance of (n, d) features (the covariance with n - 1, as numpy.cov)."""
    features = numpy.asarray(features, dtype=numpy.float64)
    if len(features) < 2:
        raise ValueError(f"need at least 2 samples to fit a Gaussian, got {len(features)}")
    return features.mean(0), numpy.cov(features, rowvar=False)


def _sqrt_psd(matrix):
    values, vectors = numpy.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * numpy.sqrt(numpy.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2), a
    symmetric positive semi-definite matrix with the same eigenvalues as S1 S2, so only symmetric
    eigendecompositions are needed (no complex parts to discard).
    """
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = numpy.sqrt(numpy.clip(numpy.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + numpy.trace(sigma1) + numpy.trace(sigma2) - 2 * trace_sqrt)


def inception_score(probabilities):
    """exp(mean over samples of KL(p(y|x) || p(y))), p(y) the mean of p(y|x)."""
    p = numpy.clip(numpy.asarray(probabilities, dtype=numpy.float64), 1e-12, 1)
    marginal = p.mean(0)
    return float(numpy.exp((p * (numpy.log(p) - numpy.log(marginal))).sum(1).mean()))


def mode_coverage(probabilities, threshold=0.02):
    """(number of classes with at least `threshold` of the predicted labels, KL(histogram || uniform),
    the histogram itself)."""
    classes = numpy.asarray(probabilities).shape[1]
    histogram = numpy.bincount(numpy.argmax(probabilities, 1), minlength=classes) / len(probabilities)
    nonzero = histogram[histogram > 0]
    kl = float((nonzero * numpy.log(nonzero * classes)).sum())
    return int((histogram >= threshold).sum()), kl, histogram


def nearest_neighbour_distances(features, chunk=2000):
    """For each row, the Euclidean distance to its nearest other row."""
    x = numpy.asarray(features, dtype=numpy.float64)
    squares = (x * x).sum(1)
    best = numpy.empty(len(x))
    for start in range(0, len(x), chunk):
        block = squares[start:start + chunk, None] + squares[None, :] - 2 * x[start:start + chunk] @ x.T
        rows = numpy.arange(start, min(start + chunk, len(x)))
        block[rows - start, rows] = numpy.inf  # not oneself
        best[start:start + chunk] = numpy.sqrt(numpy.clip(block.min(1), 0, None))
    return best


def near_duplicate_rate(features, threshold):
    """The share of samples whose nearest other sample lies within `threshold` (in feature space)."""
    return float((nearest_neighbour_distances(features) < threshold).mean())
