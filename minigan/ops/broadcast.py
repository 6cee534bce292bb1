"""Broadcasting and its adjoint: `broadcast_to` copies values out along new or size-1 axes, `sum_to`
adds them back. Each is the other's backward, which is why every binary op can broadcast: its backward
sums the gradient back to the shape of each input.
"""
from minigan.autograd.tensor import Function
from minigan.backend import get_array_module


def _sum_to_array(a, shape):
    """Sum array `a` over the leading axes and the size-1 axes of `shape` that `a` broadcast along."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1)
    if axes:
        a = a.sum(axis=axes, keepdims=True)
    return a.reshape(shape) if lead else a


class BroadcastTo(Function):
    """y = x broadcast to `shape`  ->  gx = sum_to(gy, x.shape)"""
    reads_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    """y = x summed down to `shape`  ->  gx = broadcast_to(gy, x.shape)"""
    reads_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return _sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def broadcast_to(x, shape):
    """x repeated along new leading axes and its size-1 axes to `shape` (a view; as torch.broadcast_to)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    """x summed to `shape`, the inverse of broadcasting; x itself when it already has that shape."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)
