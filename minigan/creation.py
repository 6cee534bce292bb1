"""Creating tensors: zeros, ones, random draws, ranges. float32 unless told otherwise."""
from minigan import backend
from minigan.autograd.tensor import Tensor


def _make(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def _shape(shape, name):
    """The sizes given one by one or as one tuple or list, checked: whole numbers, 0 or more."""
    dims = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
    if not all(backend.is_int(d) and d >= 0 for d in dims):
        raise ValueError(f"{name}: a shape is whole numbers, 0 or more; got {dims}")
    return tuple(int(d) for d in dims)


def zeros(*shape, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).zeros(_shape(shape, "zeros"), dtype=backend.check_dtype(dtype, "zeros")),
                 requires_grad)


def ones(*shape, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).ones(_shape(shape, "ones"), dtype=backend.check_dtype(dtype, "ones")),
                 requires_grad)


def empty(*shape, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).empty(_shape(shape, "empty"), dtype=backend.check_dtype(dtype, "empty")),
                 requires_grad)


def full(shape, fill_value, dtype="float32", device="cpu", requires_grad=False):
    return _make(backend.array_module_for(device).full(_shape((shape,), "full"), fill_value,
                                                       dtype=backend.check_dtype(dtype, "full")), requires_grad)


def zeros_like(x, requires_grad=False):
    return zeros(x.shape, dtype=x.dtype, device=x.device, requires_grad=requires_grad)


def ones_like(x, requires_grad=False):
    return ones(x.shape, dtype=x.dtype, device=x.device, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device="cpu"):
    """start, start + step, ... up to stop (not included); int64 when every bound is an integer, else float32
    (as torch: arange(0, 1, 0.5) is [0.0, 0.5], where an integer dtype would make it [0, 0])."""
    if dtype is None:
        dtype = "int64" if all(backend.is_int(v) for v in (start, stop, step) if v is not None) else "float32"
    return _make(backend.array_module_for(device).arange(start, stop, step, dtype=backend.check_dtype(dtype, "arange")), False)


def randn(*shape, dtype="float32", device="cpu", requires_grad=False):
    """Standard normal draws from minigan's seeded generator for `device`."""
    rng = backend.generators.for_device(backend.check_device(device))
    return _make(rng.standard_normal(_shape(shape, "randn"), dtype=backend.check_dtype(dtype, "randn", kinds="f")), requires_grad)


def rand(*shape, dtype="float32", device="cpu", requires_grad=False):
    """Uniform draws in [0, 1) from minigan's seeded generator for `device`."""
    rng = backend.generators.for_device(backend.check_device(device))
    return _make(rng.random(_shape(shape, "rand"), dtype=backend.check_dtype(dtype, "rand", kinds="f")), requires_grad)
