"""The backend: which array module holds the numbers, and where.

This is the one module (apart from the CUDA kernels) that knows CuPy exists. Everything above it asks
`get_array_module(array)` for "the numpy of this array" and writes one backend-free body.

Devices are named by strings, as in PyTorch: "cpu" (NumPy) and "cuda" (CuPy on the current GPU).
Random numbers come from one generator per device, seeded together by `manual_seed`.
"""
import contextlib
import math
import numbers

import numpy

try:  # CuPy is optional: the `gpu` extra installs it.
    import cupy
    _cupy_error = None
except Exception as error:  # ImportError, or a CUDA library that fails to load
    cupy = None
    _cupy_error = error

DEVICES = ("cpu", "cuda")


def is_int(value):
    """Whether `value` is an integer, Python's or NumPy's, and not a bool (which Python counts as one): what
    every size, axis, count and seed argument must be."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value):
    """Whether `value` is a finite Python int or float, and not a bool: what every rate, bound and scale must be."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_dtype(dtype, name, kinds="biuf"):
    """numpy.dtype(dtype), if it is one of the kinds minigan computes with (bool, int, float; floats alone for
    random draws); otherwise refused, naming the function `name`."""
    try:
        dtype = numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: {dtype!r} is not a dtype") from None
    if dtype.kind not in kinds:
        wanted = "a float type" if kinds == "f" else "bool, an integer or a float type"
        raise TypeError(f"{name}: dtype {dtype} is not {wanted}")
    return dtype


# --------------------------------------------------------------------------- devices

def gpu_available():
    """True when CuPy imports and sees at least one GPU."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def check_device(device):
    """Return the device name if it is usable; otherwise raise with what is missing and how to fix it."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of {DEVICES}")
    if device == "cuda":
        if cupy is None:
            raise RuntimeError(
                f"device 'cuda' needs CuPy, which could not be imported ({_cupy_error}). "
                "Install the gpu extra for your CUDA version: pip install 'minigan[gpu-cuda12]' "
                "or 'minigan[gpu-cuda13]'.")
        if not gpu_available():
            raise RuntimeError("device 'cuda' asked for, and CuPy is installed, but it sees no GPU.")
    return device


def get_array_module(array):
    """The array module (numpy or cupy) that owns `array`."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy
    return numpy


def device_of(array):
    """The device name of a raw array."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return "cuda"
    return "cpu"


def array_module_for(device):
    """The array module that holds arrays on `device`."""
    return cupy if check_device(device) == "cuda" else numpy


def to_device(array, device):
    """Move a raw array to `device` (a no-op when it is there already)."""
    if device_of(array) == check_device(device):
        return array
    if device == "cuda":
        return cupy.asarray(array)
    return cupy.asnumpy(array)


def as_numpy(array):
    """A NumPy array with the values of `array`, from whichever device holds it."""
    return to_device(array, "cpu")


def scatter_add(target, index, values):
    """target[index] += values, adding every time an index repeats (NumPy's add.at, CuPy's scatter_add)."""
    if cupy is not None and isinstance(target, cupy.ndarray):
        import cupyx
        cupyx.scatter_add(target, index, values)
    else:
        numpy.add.at(target, index, values)


# --------------------------------------------------------------------------- random numbers

class _Generators:
    """One random generator per device, all seeded by `manual_seed` (default seed 0)."""

    def __init__(self, seed=0):
        self.seed(seed)

    def seed(self, seed):
        self._seed = int(seed)
        self.cpu = numpy.random.Generator(numpy.random.PCG64(self._seed))
        self._cuda = None  # made on first use, so that seeding never needs a GPU

    @property
    def cuda(self):
        if self._cuda is None:
            check_device("cuda")
            self._cuda = cupy.random.default_rng(self._seed)
        return self._cuda

    def for_device(self, device):
        return self.cuda if device == "cuda" else self.cpu


generators = _Generators()


def manual_seed(seed):
    """Seed every random draw minigan makes (initialisers, dropout, noise, shuffling)."""
    if not is_int(seed) or seed < 0:
        raise ValueError(f"manual_seed: the seed must be a whole number, 0 or more, got {seed!r}")
    generators.seed(seed)


def get_rng_state():
    """The CPU generator's state as a JSON-friendly dict (saved in checkpoints)."""
    return generators.cpu.bit_generator.state


def check_rng_state(state):
    """Raise ValueError if `state` is not a state `set_rng_state` can take (tried on a scratch generator)."""
    try:
        numpy.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise ValueError(f"not a state of minigan's random generator ({error})") from None


def set_rng_state(state):
    check_rng_state(state)
    generators.cpu.bit_generator.state = state


@contextlib.contextmanager
def random_stream_untouched():
    """Inside the block, draws from minigan's generator leave no trace: its state is put back after. For a model
    built only to have its random initial weights replaced at once (an averaged G, the shipped classifier), so
    that a training run draws the same numbers with it as without it."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
