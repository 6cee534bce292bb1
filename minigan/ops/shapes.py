"""Shape ops: reshape, transpose/permute, indexing, concatenation, copying, and moving between devices.

None of these changes a value, only where it sits; so each backward puts the gradient back where the
value came from (reshape back, transpose back, scatter into zeros, split apart, move back; a copy's
gradient is the copy's own).
"""

import numpy

from minigan import backend
from minigan.autograd.tensor import Function, Tensor
from minigan.ops.elementwise import to_dtype


def _check_dim(x, dim, name, extra=0):
    n = x.ndim + extra
    if not backend.is_int(dim):   # transpose(x, (0, 1)), or one dim left out
        raise TypeError(f"{name}: a dim must be an int, got {dim!r}")
    if not -n <= dim < max(n, 1):
        raise ValueError(f"{name}: dim {dim} is out of range for a tensor of shape {x.shape}")
    return dim % max(n, 1)


# --------------------------------------------------------------------------- reshape and friends

class Reshape(Function):
    """y = x viewed with a new shape  ->  gx = gy reshaped to x's shape"""
    reads_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


def reshape(x, *shape):
    """x with a new shape of the same size (one axis may be -1), as torch.reshape."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(shape)
    if shape == x.shape:
        return x
    try:
        return Reshape(shape)(x)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.data.size} elements) "
                         f"to {shape}") from None


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim into one, as torch.flatten."""
    start = _check_dim(x, start_dim, "flatten") if x.ndim else 0
    end = _check_dim(x, end_dim, "flatten") if x.ndim else 0
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def squeeze(x, dim=None):
    """Drop size-1 axes (all of them, or `dim` if it has size 1), as torch.squeeze."""
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dim = _check_dim(x, dim, "squeeze")
    if x.shape[dim] != 1:
        return x
    return reshape(x, x.shape[:dim] + x.shape[dim + 1:])


def unsqueeze(x, dim):
    """Insert a size-1 axis at `dim`, as torch.unsqueeze."""
    dim = _check_dim(x, dim, "unsqueeze", extra=1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


class Transpose(Function):
    """y = x with axes permuted by p  ->  gx = gy permuted by the inverse of p"""
    reads_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return Transpose(tuple(inverse))(gy)


def permute(x, *dims):
    """x with its axes in the order `dims`, as torch.permute."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {tuple(dims)} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose(tuple(d % x.ndim for d in dims))(x)


def transpose(x, dim0=None, dim1=None):
    """Swap two axes (as torch.transpose); with no axes, reverse them all (as NumPy's .T)."""
    if dim0 is None and dim1 is None:
        return Transpose(tuple(reversed(range(x.ndim))))(x)
    axes = list(range(x.ndim))
    d0, d1 = _check_dim(x, dim0, "transpose"), _check_dim(x, dim1, "transpose")
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Transpose(tuple(axes))(x)


# --------------------------------------------------------------------------- indexing

def _raw_index(index):
    """The index with any Tensors in it replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple(_raw_index(i) for i in index)
    if isinstance(index, Tensor):
        if index.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or boolean, got {index.dtype}")
        return index.data
    return index


def _is_basic(index):
    """True for ints, slices, None and Ellipsis only: such an index never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in parts)


class GetItem(Function):
    """y = x[index]  ->  gx = zeros like x, with gy added at x[index]"""
    reads_inputs = False

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        return GetItemGrad(self.index, self.inputs[0].shape)(gy)


class GetItemGrad(Function):
    """y = zeros(shape) with x added at [index]  ->  gx = gy[index]

    An advanced index may select an element more than once; `add.at` accumulates every selection, where a
    plain `y[index] += x` would keep only one of them.
    """
    reads_inputs = False

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, x):
        xp = backend.get_array_module(x)
        y = xp.zeros(self.shape, dtype=x.dtype)
        if _is_basic(self.index):
            y[self.index] = x
        else:
            backend.scatter_add(y, self.index, x)
        return y

    def backward(self, gy):
        return GetItem(self.index)(gy)


def getitem(x, index):
    index = _raw_index(index)
    try:
        return GetItem(index)(x)
    except IndexError as error:
        raise IndexError(f"indexing a tensor of shape {x.shape}: {error}") from None


# --------------------------------------------------------------------------- joining

class Cat(Function):
    """y = the inputs joined along `dim`  ->  gx_i = the slice of gy that came from input i"""
    reads_inputs = False

    def __init__(self, dim):
        self.dim = dim

    def forward(self, *xs):
        return backend.get_array_module(xs[0]).concatenate(xs, axis=self.dim)

    def backward(self, gy):
        grads, start = [], 0
        lead = (slice(None),) * self.dim
        for x in self.inputs:
            stop = start + x.shape[self.dim]
            grads.append(getitem(gy, lead + (slice(start, stop),)) if x.requires_grad else None)
            start = stop
        return tuple(grads)


def cat(tensors, dim=0):
    """Join tensors of equal shape (but along `dim`) into one, as torch.cat."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected at least one tensor")
    first = tensors[0]
    dim = _check_dim(first, dim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or t.shape[:dim] + t.shape[dim + 1:] != first.shape[:dim] + first.shape[dim + 1:]:
            raise ValueError(f"cat: tensor {i} has shape {t.shape}, which does not match {first.shape} "
                             f"outside dim {dim}")
        if t.dtype != first.dtype:
            raise TypeError(f"cat: tensor {i} has dtype {t.dtype}, tensor 0 has {first.dtype}")
    return Cat(dim)(*tensors)


concatenate = cat


def stack(tensors, dim=0):
    """Join tensors of one shape along a new axis `dim`, as torch.stack."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected at least one tensor")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has {tensors[0].shape}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


# --------------------------------------------------------------------------- copies and devices

class Clone(Function):
    """y = a copy of x in memory of its own  ->  gx = gy"""
    reads_inputs = False

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def clone(x):
    """A copy of x that later in-place changes to x do not reach, still in the graph, as torch.clone."""
    return Clone()(x)


class ToDevice(Function):
    """y = x on another device  ->  gx = gy moved back to x's device"""
    reads_inputs = False

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return to_device(gy, self.inputs[0].device)


def to_device(x, device):
    """x on `device` ("cpu" or "cuda"); the only way minigan moves data between devices."""
    backend.check_device(device)
    if x.device == device:
        return x
    return ToDevice(device)(x)


def to(x, target):
    """x on a device ("cpu", "cuda") or as a dtype ("float64", numpy.float32, minigan.float64), as torch's
    Tensor.to."""
    if isinstance(target, str) and target in backend.DEVICES:
        return to_device(x, target)
    try:
        dtype = numpy.dtype(target)
    except TypeError:
        raise ValueError(f"to: expected a device {backend.DEVICES} or a dtype, got {target!r}") from None
    return to_dtype(x, dtype)
