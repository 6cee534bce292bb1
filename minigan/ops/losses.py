"""Losses, each written with differentiable ops so that every gradient order comes for free.

`reduction` is "mean" (default), "sum" or "none", as in torch.nn.functional.
"""
from minigan.autograd.tensor import Tensor
from minigan.backend import get_array_module
from minigan.ops.elementwise import softplus
from minigan.ops.reductions import log_softmax, mean, sum
from minigan.ops.shapes import getitem

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, name):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(loss, reduction, name):
    check_reduction(reduction, name)
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def _same_shape(input, target, name):
    if input.shape != target.shape:
        raise ValueError(f"{name}: input shape {input.shape} and target shape {target.shape} differ")


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] = softplus(x) - t x

    In the softplus form no probability is ever formed, so nothing is clipped and a logit of +-1e4 gives
    the exact loss and the gradient sigmoid(x) - t.
    """
    if not isinstance(target, Tensor):
        raise TypeError("binary_cross_entropy_with_logits: target must be a Tensor")
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    return _reduce(softplus(input) - target * input, reduction, "binary_cross_entropy_with_logits")


def cross_entropy(input, target, reduction="mean"):
    """-log softmax(x)[target] for logits x of shape (n, classes) and integer class indices of shape (n,)."""
    labels = target.data if isinstance(target, Tensor) else target
    if input.ndim != 2:
        raise ValueError(f"cross_entropy: input must be (n, classes) logits, got shape {input.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class indices, got {labels.dtype}")
    if labels.shape != input.shape[:1]:
        raise ValueError(f"cross_entropy: target shape {labels.shape} does not match batch {input.shape[:1]}")
    if labels.size and (labels.min() < 0 or labels.max() >= input.shape[1]):
        raise ValueError(f"cross_entropy: target classes must be in [0, {input.shape[1]})")
    rows = get_array_module(labels).arange(input.shape[0])
    picked = getitem(log_softmax(input, 1), (rows, labels))
    return _reduce(-picked, reduction, "cross_entropy")


def mse_loss(input, target, reduction="mean"):
    """(x - t)**2, averaged or summed."""
    _same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")
