"""A seeded, shuffling batch iterator over images and labels, resumable from a small state.

Epoch e visits the images in the order numpy.random.default_rng([seed, e]).permutation(n): the order
depends only on the seed and the epoch, so the iterator's whole state is (epoch, position), and a resumed
run sees exactly the batches the uninterrupted run would have seen.
"""
import numpy

from minigan import backend
from minigan.autograd.tensor import Tensor
from minigan.messages import shown


def to_unit_range(images):
    """uint8 pixels (n, h, w) or (n, c, h, w) -> float32 (n, c, h, w) in [-1, 1], the range of the generator's
    tanh (c = 1 for (n, h, w))."""
    images = images.astype(numpy.float32)   # one new array, scaled in place: no full-size temporaries
    images /= 127.5
    images -= 1.0
    return images[:, None] if images.ndim == 3 else images


class Batches:
    """Batches of (images, labels) as tensors: images uint8 pixels (n, h, w) or (n, c, h, w), as the data
    loaders give them, served as float32 (n, c, h, w) in [-1, 1]; labels one integer per image, or None for
    unlabelled images (all 0)."""

    def __init__(self, images, labels, batch_size, seed=0, device="cpu", drop_last=True):
        if not isinstance(images, numpy.ndarray) or images.dtype != numpy.uint8 or images.ndim not in (3, 4):
            got = (f"{images.dtype} of shape {images.shape}" if isinstance(images, numpy.ndarray)
                   else f"a {type(images).__name__}")
            raise TypeError(f"Batches: images must be uint8 pixels (n, h, w) or (n, c, h, w), as the data loaders "
                            f"give them; got {got}")
        labels = numpy.zeros(len(images), numpy.int64) if labels is None else numpy.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"Batches: labels must be integers, got {labels.dtype}")
        if len(images) != len(labels):
            raise ValueError(f"Batches: {len(images)} images but {len(labels)} labels")
        if batch_size < 1 or (drop_last and batch_size > len(images)):
            raise ValueError(f"Batches: batch_size {batch_size} does not fit {len(images)} images")
        self.images = backend.to_device(to_unit_range(images), device)   # (n, c, h, w) float32
        self.labels = backend.to_device(labels.astype(numpy.int64), device)
        self.batch_size, self.seed, self.drop_last = batch_size, seed, drop_last
        self.epoch, self.position = 0, 0
        self._order = None

    def _permutation(self):
        if self._order is None:
            order = numpy.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))
            self._order = backend.to_device(order, backend.device_of(self.images))
        return self._order

    def __iter__(self):
        return self

    def __next__(self):
        """(images, labels) of the next batch; epochs roll over forever."""
        n = len(self.images)
        if self.position + (self.batch_size if self.drop_last else 1) > n:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        take = self._permutation()[self.position:self.position + self.batch_size]
        self.position += len(take)
        return Tensor(self.images[take]), Tensor(self.labels[take])

    def batches_per_epoch(self):
        return len(self.images) // self.batch_size if self.drop_last else -(-len(self.images) // self.batch_size)

    def state_dict(self):
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def check_state_dict(self, state):
        """Raise, naming the entries, if `state` is not this iterator's; change nothing."""
        if not isinstance(state, dict) or set(state) != {"epoch", "position", "seed"}:
            raise KeyError("the batch iterator's state must hold epoch, position and seed")
        for name in ("epoch", "position", "seed"):
            if type(state[name]) is not int or state[name] < 0:
                raise ValueError(f"the batch iterator's {name} must be a whole number, 0 or more, "
                                 f"got {shown(state[name])}")
        if state["position"] > len(self.images):
            raise ValueError(f"the batch iterator's position {state['position']} is past its {len(self.images)} images")

    def load_state_dict(self, state):
        self.epoch, self.position, self.seed = int(state["epoch"]), int(state["position"]), int(state["seed"])
        self._order = None
