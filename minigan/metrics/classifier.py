"""A small MNIST classifier built and trained with minigan itself: the lens the metrics look through.

    conv 5x5 (1 -> 16) - ReLU - max pool 2    28 -> 14
    conv 5x5 (16 -> 32) - ReLU - max pool 2   14 -> 7
    linear 1568 -> 64 - ReLU                  the penultimate features (Frechet distance is taken here)
    linear 64 -> 10                           class logits

Trained by scripts/train_classifier.py on the embedded digits minus a held-out tenth; its weights ship as
minigan/metrics/classifier.npz (a minigan checkpoint: no pickle).
"""
import os

import numpy

from minigan import backend, checkpoint, nn
from minigan.autograd.tensor import no_grad, tensor
from minigan.ops import max_pool2d, relu

WEIGHTS = os.path.join(os.path.dirname(__file__), "classifier.npz")
HELD_OUT_SEED = 2024   # the seeded split of the embedded digits: the last 1,000 of this permutation are held out
HELD_OUT = 1000


class DigitClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def features(self, x):
        """(n, 1, 28, 28) images in [-1, 1] -> (n, 64) penultimate features."""
        h = max_pool2d(relu(self.conv1(x)), 2)
        h = max_pool2d(relu(self.conv2(h)), 2)
        return relu(self.fc1(h.flatten(1)))

    def forward(self, x):
        return self.fc2(self.features(x))


def held_out_split(n):
    """(train indices, held-out indices) of the embedded digits, fixed by HELD_OUT_SEED."""
    order = numpy.random.default_rng(HELD_OUT_SEED).permutation(n)
    return order[:-HELD_OUT], order[-HELD_OUT:]


def load_classifier(path=WEIGHTS):
    """The shipped classifier, in eval mode. Loading it draws nothing from minigan's random stream: a run that
    scores itself as it trains (`--eval-every`) makes the same updates as one that does not, and resumes exactly."""
    with backend.random_stream_untouched():   # its random initial weights, replaced below by the shipped ones
        model = DigitClassifier()
    state = checkpoint.load(path)
    checkpoint.restore(path, state, model=model)
    return model.eval()


def embed(model, images, batch=500):
    """Features (n, 64) and class probabilities (n, 10) of images: uint8 (n, 28, 28) pixels or float
    (n, 1, 28, 28) in [-1, 1]."""
    images = as_unit_range(images)
    features, probabilities = [], []
    with no_grad():
        for start in range(0, len(images), batch):
            f = model.features(tensor(images[start:start + batch]))
            logits = model.fc2(f).numpy().astype(numpy.float64)
            logits -= logits.max(1, keepdims=True)
            p = numpy.exp(logits)
            features.append(f.numpy().astype(numpy.float64))
            probabilities.append(p / p.sum(1, keepdims=True))
    return numpy.concatenate(features), numpy.concatenate(probabilities)


def as_unit_range(images):
    """uint8 (n, 28, 28) or (n, 1, 28, 28) pixels, or floats in [-1, 1], as float32 (n, 1, 28, 28) in [-1, 1].
    Floats with no value below 0 are refused: they are [0, 1] pixels, whose scores would mean nothing."""
    images = numpy.asarray(images)
    if images.shape[1:] not in ((28, 28), (1, 28, 28)):
        raise ValueError(f"expected 28x28 grey images, shape (n, 28, 28) or (n, 1, 28, 28); got {images.shape}")
    if images.ndim == 3:
        images = images[:, None]
    if len(images) == 0:
        raise ValueError("no images to score")
    if images.dtype == numpy.uint8:
        return images.astype(numpy.float32) / 127.5 - 1
    if images.dtype.kind != "f":
        raise ValueError(f"images must be uint8 pixels or floats in [-1, 1], got {images.dtype}")
    images = images.astype(numpy.float32)
    if not numpy.isfinite(images).all():
        raise ValueError("the images hold inf or nan")
    low, high = images.min(), images.max()
    if low < -1.001 or high > 1.001:
        raise ValueError(f"float images must lie in [-1, 1]; these span [{low:.3g}, {high:.3g}]")
    if low >= 0:   # read as [-1, 1], [0, 1] pixels are grey digits on grey: scores of something else
        raise ValueError(f"float images must lie in [-1, 1], with -1 for the background; these span "
                         f"[{low:.3g}, {high:.3g}], as pixels in [0, 1] do: pass x * 2 - 1")
    return images
