"""Initialisers, as torch.nn.init: each fills a tensor in place from minigan's seeded generator.

Draws are made on the CPU generator and moved to the tensor's device, so a model initialised with the
same seed holds the same numbers whichever device it lives on.
"""
import math

import numpy

from minigan import backend
from minigan.autograd.tensor import Tensor, no_grad


def _target(tensor, name, floats=True):
    """Refuse, naming the initialiser, what it cannot fill: no tensor, or integers for a random draw."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: fills a minigan tensor in place, got a {type(tensor).__name__}")
    if floats and tensor.dtype.kind != "f":
        raise TypeError(f"{name}: its draws are fractional, but the tensor is {tensor.dtype}")


def _finite(name, **values):
    for key, value in values.items():
        if not backend.is_number(value):
            raise ValueError(f"{name}: {key} must be a finite number, got {value!r}")


def _fill(tensor, values):
    with no_grad():
        tensor.copy_(backend.to_device(numpy.asarray(values, dtype=tensor.dtype), tensor.device))
    return tensor


def _fans(tensor):
    """fan_in and fan_out as torch computes them: dims 1 and 0 times the receptive field."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dims, got shape {tensor.shape}")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    if nonlinearity in ("linear", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def uniform_(tensor, a=0.0, b=1.0):
    _target(tensor, "uniform_")
    _finite("uniform_", a=a, b=b)
    if a > b:
        raise ValueError(f"uniform_: a must be at most b, got a={a}, b={b}")
    return _fill(tensor, backend.generators.cpu.uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    _target(tensor, "normal_")
    _finite("normal_", mean=mean, std=std)
    if std < 0:
        raise ValueError(f"normal_: std must be 0 or more, got {std}")
    return _fill(tensor, backend.generators.cpu.normal(mean, std, tensor.shape))


def constant_(tensor, value):
    _target(tensor, "constant_", floats=False)
    return _fill(tensor, numpy.full(tensor.shape, value))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def default_layer_init_(weight, bias):
    """torch.nn's default for Linear and the convolutions: kaiming_uniform_(a=sqrt(5)) for the weight,
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(_fans(weight)[0])
        uniform_(bias, -bound, bound)
