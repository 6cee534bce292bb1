"""Reductions: sum, mean, max/min (and their indices), variance, and the log-softmax family.

Every reduction takes `dim` (an int, a tuple, or None for all axes) and `keepdim`, as torch does; the NumPy
spellings `axis` and `keepdims` are accepted too. The backward of a reduction puts the reduced axes back
(as size 1) and broadcasts the gradient along them.
"""
from collections import namedtuple

from minigan import backend
# This module defines sum, max and min (torch's names); Python's built-ins of those names are not used here.
from minigan.autograd.tensor import Function, Tensor
from minigan.ops.broadcast import broadcast_to
from minigan.ops.elementwise import constant_like, exp, floating, log, where
from minigan.ops.shapes import reshape


def normalize_dims(x, dim, name):
    """`dim` as a sorted tuple of non-negative axes of x (None means all of them)."""
    if dim is None:
        return tuple(range(x.ndim))
    dims = (dim,) if backend.is_int(dim) else tuple(dim)
    n = x.ndim or 1  # a 0-d tensor accepts dim 0 and -1, as in torch
    out = []
    for d in dims:
        if not -n <= d < n:
            raise ValueError(f"{name}: dim {d} is out of range for a tensor of shape {x.shape}")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: dim {dim} names an axis twice")
    return tuple(sorted(out))


def _pick(dim, keepdim, axis, keepdims):
    return (axis if dim is None else dim), (keepdims if keepdims is not None else keepdim)


def _kept_shape(shape, dims):
    """`shape` with the reduced axes kept as size 1."""
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


# --------------------------------------------------------------------------- sum and mean

class Sum(Function):
    """y = sum of x over dims  ->  gx = gy broadcast back over those dims"""
    reads_inputs = False

    def __init__(self, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, x):
        return x.sum(axis=self.dims, keepdims=self.keepdim)

    def backward(self, gy):
        x = self.inputs[0]
        return broadcast_to(reshape(gy, _kept_shape(x.shape, self.dims)), x.shape)


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, keepdim, axis, keepdims)
    return Sum(normalize_dims(x, dim, "sum") if x.ndim else (), bool(keepdim))(x)


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The mean over `dim` (sum divided by the count; nan for an empty axis, as torch)."""
    dim, keepdim = _pick(dim, keepdim, axis, keepdims)
    dims = normalize_dims(x, dim, "mean") if x.ndim else ()
    count = 1
    for d in dims:
        count *= x.shape[d]
    total = Sum(dims, bool(keepdim))(x)
    return total / count if count else total * float("nan")


# --------------------------------------------------------------------------- max and min

class Max(Function):
    """y = max of x over dims  ->  gx = gy shared evenly among the elements equal to the max (as torch.amax)"""
    reads_output = True

    def __init__(self, dims, keepdim, smallest=False):
        self.dims, self.keepdim, self.smallest = dims, keepdim, smallest

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{'min' if self.smallest else 'max'} of an empty tensor of shape {x.shape}")
        reduce = x.min if self.smallest else x.max
        return reduce(axis=self.dims, keepdims=self.keepdim)

    def backward(self, gy):
        x = self.inputs[0]
        kept = _kept_shape(x.shape, self.dims)
        winners = x.data == self.output().data.reshape(kept)
        share = winners / winners.sum(axis=self.dims, keepdims=True)
        return broadcast_to(reshape(gy, kept), x.shape) * constant_like(share, gy)


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest value over `dim` (one axis, several, or all), as torch.amax."""
    dim, keepdim = _pick(dim, keepdim, axis, keepdims)
    return Max(normalize_dims(x, dim, "amax") if x.ndim else (), bool(keepdim))(x)


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest value over `dim` (one axis, several, or all), as torch.amin."""
    dim, keepdim = _pick(dim, keepdim, axis, keepdims)
    return Max(normalize_dims(x, dim, "amin") if x.ndim else (), bool(keepdim), smallest=True)(x)


ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """As torch.max: without `dim`, the largest value (as amax); along one axis `dim`, the pair (values,
    indices) of the largest values and where they are, so that `_, predicted = logits.max(1)` reads as in
    torch. Along an axis the gradient goes to the index returned, the first of equal maxima, as in torch."""
    return _extreme(x, *_pick(dim, keepdim, axis, keepdims), "max")


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """As torch.min: the smallest value, or along one axis the pair (values, indices) (see max)."""
    return _extreme(x, *_pick(dim, keepdim, axis, keepdims), "min")


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Where the largest value is, as torch.argmax: along `dim`, or in the flattened tensor (an int64 tensor,
    outside the graph; the first of equal maxima)."""
    return _position(x, *_pick(dim, keepdim, axis, keepdims), "argmax")


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Where the smallest value is, as torch.argmin (see argmax)."""
    return _position(x, *_pick(dim, keepdim, axis, keepdims), "argmin")


def _position(x, dim, keepdim, name):
    if x.data.size == 0:
        raise ValueError(f"{name} of an empty tensor of shape {x.shape}")
    find = getattr(backend.get_array_module(x.data), name)
    if dim is None:
        found = find(x.data.reshape(-1))
        return Tensor(found.reshape((1,) * x.ndim) if keepdim else found)
    if not backend.is_int(dim):
        raise TypeError(f"{name}: dim must be one int, got {dim!r}")
    axis = normalize_dims(x, dim, name)[0] if x.ndim else None
    return Tensor(find(x.data, axis=axis, keepdims=bool(keepdim)))


def _extreme(x, dim, keepdim, name):
    if dim is None:
        return (amax if name == "max" else amin)(x)
    if not backend.is_int(dim):
        raise TypeError(f"{name}: dim must be one int, got {dim!r} (torch.{name} returns values and indices along "
                        f"one axis; for several axes use a{name})")
    if x.ndim == 0:
        return ValuesIndices(x, _position(x, dim, keepdim, "arg" + name))
    axis = normalize_dims(x, dim, name)[0]
    indices = _position(x, axis, True, "arg" + name)
    xp = backend.get_array_module(x.data)
    positions = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))   # along the axis
    chosen = positions == indices.data
    values = sum(where(chosen, x, 0), axis, keepdim)   # the chosen element of each row, and its gradient there
    return ValuesIndices(values, indices if keepdim else Tensor(indices.data.squeeze(axis)))


# --------------------------------------------------------------------------- variance

def var(x, dim=None, keepdim=False, correction=1, *, axis=None, keepdims=None):
    """sum((x - mean)**2) / (count - correction), as torch.var (correction=1: the unbiased estimate).

    Written with differentiable ops, so its gradient (2 (x - mean) / (count - correction)) comes for free.
    """
    dim, keepdim = _pick(dim, keepdim, axis, keepdims)
    x = floating(x)
    dims = normalize_dims(x, dim, "var") if x.ndim else ()
    count = 1
    for d in dims:
        count *= x.shape[d]
    centred = x - mean(x, dims, keepdim=True)
    return sum(centred * centred, dims, keepdim) / (count - correction)


# --------------------------------------------------------------------------- log-softmax

class LogSoftmax(Function):
    """y = x - log(sum(exp(x)))  ->  gx = gy - exp(y) * sum(gy)   (sums over `dim`)"""
    reads_inputs = False
    reads_output = True

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = backend.get_array_module(x)
        shifted = x - x.max(axis=self.dim, keepdims=True)  # exp never overflows
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.dim, keepdims=True))

    def backward(self, gy):
        return gy - exp(self.output()) * sum(gy, self.dim, keepdim=True)


def log_softmax(x, dim=-1):
    return LogSoftmax(normalize_dims(x, dim, "log_softmax")[0])(floating(x))


def softmax(x, dim=-1):
    return exp(log_softmax(x, normalize_dims(x, dim, "softmax")[0]))


def logsumexp(x, dim=None, keepdim=False):
    """log(sum(exp(x))) over `dim`, computed without overflow."""
    dims = normalize_dims(x, dim, "logsumexp")
    peak = Max(dims, True)(x).detach()
    total = log(sum(exp(x - peak), dims, keepdim=True)) + peak
    return total if keepdim else reshape(total, tuple(n for i, n in enumerate(x.shape) if i not in dims))
