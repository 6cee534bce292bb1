"""The differentiable ops, and the Tensor methods and operators that call them."""
import numbers

import numpy

from minigan.autograd.tensor import Tensor
from minigan.backend import get_array_module
from minigan.ops.broadcast import broadcast_to, sum_to
from minigan.ops.conv import conv2d, conv2d_weight, conv_transpose2d
from minigan.ops.elementwise import (
    abs_, add, clamp, clip, div, dropout, exp, leaky_relu, log, maximum, minimum, mul, neg, pow, relu,
    sigmoid, softplus, sqrt, sub, tanh, to_dtype, where)
from minigan.ops.linalg import linear, matmul
from minigan.ops.norm import batch_norm, layer_norm, layer_norm_grad
from minigan.ops.pool import avg_pool2d, max_pool2d
from minigan.ops.losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from minigan.ops.reductions import (
    amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, sum, var)
from minigan.ops.shapes import (
    cat, clone, concatenate, flatten, getitem, permute, reshape, squeeze, stack, to, to_device, transpose, unsqueeze)

__all__ = [
    "abs_", "add", "amax", "amin", "argmax", "argmin", "avg_pool2d", "batch_norm",
    "binary_cross_entropy_with_logits", "broadcast_to", "cat", "clamp", "clip", "clone", "concatenate", "conv2d",
    "conv2d_weight", "conv_transpose2d", "cross_entropy", "div", "dropout", "exp", "flatten", "getitem",
    "layer_norm", "layer_norm_grad", "leaky_relu", "linear", "log", "log_softmax", "logsumexp", "matmul", "max",
    "max_pool2d", "maximum", "mean", "min", "minimum", "mse_loss", "mul", "neg", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "softplus", "sqrt", "squeeze", "stack", "sub", "sum", "sum_to", "tanh",
    "to_device", "to_dtype", "transpose", "unsqueeze", "var", "where",
]


def _comparison(name, symbol):
    """x < y, x == y and friends: a boolean Tensor, elementwise, outside the graph (a comparison has no gradient).
    Against something that is neither a tensor, an array nor a number, Python's own answer stands, as in torch:
    `x == None` is False and `x < None` a TypeError."""
    def compare(self, other):
        if isinstance(other, Tensor):
            other = other.data
        elif not isinstance(other, (numbers.Number, numpy.generic, numpy.ndarray)) and get_array_module(other) is numpy:
            return NotImplemented
        xp = get_array_module(self.data)
        try:
            return Tensor(getattr(xp, name)(self.data, other))
        except ValueError:
            raise ValueError(f"x {symbol} y: shapes {self.shape} and {xp.shape(other)} do not broadcast") from None
    return compare


def _install_tensor_methods():
    """Give Tensor its operators and methods, so that `x @ W + b` and `x.sum(1)` build graphs."""
    def reflected(f):
        return lambda self, other: f(other, self)

    operators = {
        "__add__": add, "__radd__": add, "__sub__": sub, "__rsub__": reflected(sub),
        "__mul__": mul, "__rmul__": mul, "__truediv__": div, "__rtruediv__": reflected(div),
        "__pow__": pow, "__rpow__": reflected(pow), "__matmul__": matmul, "__rmatmul__": reflected(matmul),
        "__neg__": neg, "__abs__": abs_, "__getitem__": getitem,
    }
    methods = {
        "exp": exp, "log": log, "sqrt": sqrt, "abs": abs_, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
        "clamp": clamp, "clip": clip, "sum": sum, "mean": mean, "max": max, "min": min, "var": var,
        "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin,
        "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "neg": neg,
        "reshape": reshape, "view": reshape, "flatten": flatten, "squeeze": squeeze, "unsqueeze": unsqueeze,
        "transpose": transpose, "permute": permute, "expand": broadcast_to, "broadcast_to": broadcast_to,
        "matmul": matmul, "to_dtype": to_dtype, "to": to, "softmax": softmax,
        "log_softmax": log_softmax, "clone": clone,
    }
    for name, f in {**operators, **methods}.items():
        setattr(Tensor, name, f)
    for name, compare, symbol in (("__lt__", "less", "<"), ("__le__", "less_equal", "<="), ("__gt__", "greater", ">"),
                                  ("__ge__", "greater_equal", ">="), ("__eq__", "equal", "=="),
                                  ("__ne__", "not_equal", "!=")):
        setattr(Tensor, name, _comparison(compare, symbol))
    Tensor.cpu = lambda self: to_device(self, "cpu")
    Tensor.cuda = lambda self: to_device(self, "cuda")
    Tensor.float = lambda self: to_dtype(self, "float32")
    Tensor.double = lambda self: to_dtype(self, "float64")
    Tensor.long = lambda self: to_dtype(self, "int64")
    Tensor.bool = lambda self: to_dtype(self, "bool")


_install_tensor_methods()
