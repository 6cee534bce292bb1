"""Creating tensors: zeros, ones, random draws, ranges. float32 unless told otherwise."""
import numpy

from minigan import backend
from minigan.autograd.tensor import Tensor


def _make(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def zeros(*shape, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).zeros(_shape(shape), dtype=dtype), requires_grad)


def ones(*shape, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).ones(_shape(shape), dtype=dtype), requires_grad)


def empty(*shape, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).empty(_shape(shape), dtype=dtype), requires_grad)


def full(shape, fill_value, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).full(_shape((shape,)), fill_value, dtype=dtype), requires_grad)


def zeros_like(x, requires_grad=False):
    return zeros(x.shape, dtype=x.dtype, device=x.device, requires_grad=requires_grad)


def ones_like(x, requires_grad=False):
    return ones(x.shape, dtype=x.dtype, device=x.device, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype="int64", device="cpu"):
    return _make(backend.array_module_for(device).arange(start, stop, step, dtype=dtype), False)


def randn(*shape, dtype="float32", device="cpu", requires_grad=False):
    """Standard normal draws from minigan's seeded generator for `device`."""
    rng = backend.generators.for_device(backend.check_device(device))
    return _make(rng.standard_normal(_shape(shape), dtype=numpy.dtype(dtype)), requires_grad)


def rand(*shape, dtype="float32", device="cpu", requires_grad=False):
    """Uniform draws in [0, 1) from minigan's seeded generator for `device`."""
    rng = backend.generators.for_device(backend.check_device(device))
    return _make(rng.random(_shape(shape), dtype=numpy.dtype(dtype)), requires_grad)
