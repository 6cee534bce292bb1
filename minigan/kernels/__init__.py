"""Kernels: array-in, array-out routines with no autograd: the convolutions' layout work, the rectifier's
maximum, batch norm's per-channel sums of products and the fused Adam update.

Each kernel has a NumPy implementation (cpu.py) and a CUDA one (cuda.py); the functions here pick one
by the array's type, so the ops above call `im2col(...)` and never ask which device they are on.
"""
from minigan import backend
from minigan.kernels import cpu
from minigan.machine import on_all_cores
from minigan.kernels.cpu import conv_out_size  # noqa: F401  (the one formula; the ops use it too)


def _impl(array):
    if backend.device_of(array) == "cuda":
        from minigan.kernels import cuda
        return cuda
    return cpu


def im2col(x, kernel, stride, padding, dilation, pad_value=0, out_size=None):
    """(n, c, h, w) -> (c, kh, kw, out_h, out_w, n): every input patch a convolution window sees
    (padding filled with `pad_value`: 0 for convolutions, -inf for max pooling). `out_size` keeps only the
    first out_h x out_w windows; the adjoint of a transposed convolution with output_padding needs that."""
    return _impl(x).im2col(x, kernel, stride, padding, dilation, pad_value, out_size)


def col2im(col, size, stride, padding, dilation):
    """(c, kh, kw, out_h, out_w, n) -> (n, c, h, w): the adjoint of im2col, adding overlapping windows."""
    return _impl(col).col2im(col, size, stride, padding, dilation)


def maximum_with(x, value, out):
    """out = max(x, value) for a number `value` (the ReLU's forward), `out` laid out in memory as x."""
    return _impl(x).maximum_with(x, value, out)


def channel_dot(a, b):
    """sum(a * b) over every axis but axis 1 (the channels of (n, c) or (n, c, h, w)), shape (c,), without
    forming a * b: batch norm's per-channel sums of products."""
    return _impl(a).channel_dot(a, b)


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, **hyper):
    """One in-place Adam step on raw arrays (see minigan.optim.adam for the formula)."""
    return _impl(param).adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, **hyper)


def over_channels(array, work, channels):
    """Call work(part) for slices `part` that together cover range(channels), for work whose channels are
    independent of one another: cut over the cores for a NumPy array (minigan.machine.on_all_cores), in one
    call for a CuPy one, whose kernels already spread over the whole GPU."""
    if backend.device_of(array) == "cuda":
        work(slice(0, channels))
    else:
        on_all_cores(work, channels, array.size)
