"""The NumPy convolution kernels: im2col as one strided view and one copy; col2im as kh * kw strided adds
(by output phase when the kernel is a whole number of strides); each split over the cores by channels.

Shape letters: n batch, c channels, h, w input height and width, kh, kw kernel, sy, sx stride,
ph, pw padding, dy, dx dilation, out_h, out_w output height and width.

The column layout is (c, kh, kw, out_h, out_w, n), with the batch axis last. Then:
  * a convolution is one matrix product W (oc, c*kh*kw) @ col (c*kh*kw, out_h*out_w*n), whose result
    (oc, out_h, out_w, n) is the output, viewed as (n, oc, out_h, out_w) without a copy;
  * every copy (im2col) and every add (col2im) moves runs of n contiguous numbers or more. With the batch axis
    anywhere else the innermost runs would be out_w numbers long (7 in the DCGAN), and NumPy's per-run
    overhead would cost more than the arithmetic.
Activations therefore live in memory as (c, h, w, n) while their shape reads (n, c, h, w); NumPy's
elementwise ops keep that order, and the next im2col reads it without a transpose copy.
"""
import contextlib

import numpy
from numpy.lib.stride_tricks import as_strided

from minigan.machine import on_all_cores


def conv_out_size(size, k, s, p, d):
    """How many windows of extent d (k - 1) + 1 and step s fit in size + 2 p."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


# --------------------------------------------------------------------------- im2col and col2im

def _pad(padded, x, ph, pw, value):
    """padded (c, h + 2ph, w + 2pw, n) = x (c, h, w, n) with a border of `value`, written once each."""
    height, width = padded.shape[1:3]
    padded[:, :ph] = value
    padded[:, height - ph:] = value
    padded[:, ph:height - ph, :pw] = value
    padded[:, ph:height - ph, width - pw:] = value
    padded[:, ph:height - ph, pw:width - pw] = x


def im2col(x, kernel, stride, padding, dilation, pad_value=0, out_size=None):
    n, c, h, w = x.shape
    kh, kw = kernel
    sy, sx = stride
    ph, pw = padding
    dy, dx = dilation
    out_h, out_w = out_size or (conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx))
    x = x.transpose(1, 2, 3, 0)                                              # (c, h, w, n), a view
    if (out_h, out_w) == (1, 1) and (h, w) == (kh, kw) and (ph, pw) == (0, 0) and (dy, dx) == (1, 1):
        # One window, the whole image (a 7x7 layer on a 7x7 input): the columns are x itself, viewed as
        # (c, kh, kw, 1, 1, n), not copied. Nothing writes into columns.
        return x.reshape(c, kh, kw, 1, 1, n)
    padded = numpy.empty((c, h + 2 * ph, w + 2 * pw, n), x.dtype) if ph or pw else x
    col = numpy.empty((c, kh, kw, out_h, out_w, n), x.dtype)

    def copy(channels):
        part = padded[channels]
        if ph or pw:
            _pad(part, x[channels], ph, pw, pad_value)
        s_c, s_h, s_w, s_n = part.strides
        # Window (i, j) at output pixel (y, x) reads padded[c, y*sy + i*dy, x*sx + j*dx, n]: the strides say so.
        col[channels] = as_strided(part, shape=(part.shape[0], kh, kw, out_h, out_w, n),
                                   strides=(s_c, dy * s_h, dx * s_w, sy * s_h, sx * s_w, s_n), writeable=False)
    on_all_cores(copy, c, col.size)
    return col                                                               # (c, kh, kw, out_h, out_w, n)


def col2im(col, size, stride, padding, dilation):
    c, kh, kw, out_h, out_w, n = col.shape
    h, w = size
    sy, sx = stride
    ph, pw = padding
    dy, dx = dilation
    if (out_h, out_w) == (1, 1) and (h + 2 * ph, w + 2 * pw) == (kh, kw) and (dy, dx) == (1, 1):
        # One window covering the whole padded image (a 7x7 layer on a 7x7 input): nothing overlaps.
        padded = col.reshape(c, kh, kw, n)
        return padded[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)
    padded = numpy.empty((c, h + 2 * ph, w + 2 * pw, n), dtype=col.dtype)   # (c, h + 2ph, w + 2pw, n)
    by_phase = kh % sy == 0 and kw % sx == 0 and (dy, dx) == (1, 1)

    def add(channels):
        part, windows = padded[channels], col[channels]
        if by_phase:
            _add_by_phase(part, windows, sy, sx)
            return
        part.fill(0)
        for i in range(kh):      # one strided add per kernel offset; each covers every pixel of these channels
            for j in range(kw):
                y0, x0 = i * dy, j * dx
                part[:, y0:y0 + sy * out_h:sy, x0:x0 + sx * out_w:sx] += windows[:, i, j]
    on_all_cores(add, c, col.size)
    return padded[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)            # (n, c, h, w), a view


def _add_by_phase(padded, windows, sy, sx):
    """col2im when the kernel is a whole number of strides (the DCGAN's 4 x 4 kernels at stride 2).

    The pixels of one phase, rows p, p + sy, ... and columns q, q + sx, ..., receive only the kernel offsets
    (p + sy a, q + sx b), window (a, b) landing a rows and b columns further on within the phase. So each phase is
    summed in a buffer of its own, its pixels side by side: its first window copied in, its uncovered border
    zeroed, and the rest added, each add over runs of out_w * n numbers in place of n; then the phase is copied into
    its place once (at stride 1 the one phase is the output itself, and is summed there). No pass zeroes the whole
    output first, and each pixel's terms are still added in the order of the kernel offsets, so the sums are the
    same to the bit (only a sum of negative zeros keeps its sign, where 0 + (-0) made it +0)."""
    _, kh, kw, out_h, out_w, n = windows.shape
    with _unbuffered(out_w * n):
        for p in range(sy):
            for q in range(sx):
                phase = padded[:, p::sy, q::sx]
                # At stride 1 the one phase is the output itself, its pixels side by side already: sum in place.
                summed = phase if (sy, sx) == (1, 1) else numpy.empty(phase.shape, phase.dtype)
                summed[:, :out_h, :out_w] = windows[:, p, q]
                summed[:, out_h:] = 0
                summed[:, :out_h, out_w:] = 0
                for a in range(kh // sy):
                    for b in range(kw // sx):
                        if a or b:
                            into = summed[:, a:a + out_h, b:b + out_w]
                            numpy.add(into, windows[:, p + sy * a, q + sx * b], out=into)
                if summed is not phase:
                    phase[...] = summed


@contextlib.contextmanager
def _unbuffered(run):
    """Inside the block, this thread's NumPy ufuncs copy strided operands into buffers of at most `run` numbers.

    NumPy's ufuncs (2.4 here) may copy operands that are not contiguous into buffers of numpy.getbufsize() numbers
    (8,192 by default) to give their inner loop longer runs (numpy/numpy#27883 reworked that buffering). For an add
    in place over runs of a few hundred numbers, the copies cost more than they save: on a 2-core AMD EPYC with AVX2,
    D2's input gradient at B = 64, summed phase by phase, took 2.9-3.4 ms with them and 2.0-2.6 ms without
    (the medians of two runs of 41 calls), where the previous col2im, adding runs of n numbers into the output,
    took 2.6-3.0. A buffer no longer than one run leaves a copy nothing to gain. The setting is the calling thread's own
    (since NumPy 2.0, its context's) and is put back on the way out; NumPy 1.x takes only multiples of 16."""
    previous = numpy.setbufsize(max(16, run // 16 * 16))
    try:
        yield
    finally:
        numpy.setbufsize(previous)


# --------------------------------------------------------------------------- the rectifier

def maximum_with(x, value, out):
    """out = max(x, value) for a number `value` (the ReLU), `out` laid out in memory as x.

    NumPy's vectorized loop for maximum runs only where both operands are arrays stepping through memory;
    with a number it takes a plain loop, about 3.5 times slower. So the number becomes a row, as long as x's
    innermost run in memory, which broadcasts over the rest of x. The results are the same numbers."""
    order = sorted(range(x.ndim), key=lambda axis: -x.strides[axis])
    xs, outs = x.transpose(order), out.transpose(order)                     # both in x's memory order
    if xs.ndim > 1 and xs.flags.c_contiguous and outs.flags.c_contiguous:
        xs, outs = xs.reshape(xs.shape[0], -1), outs.reshape(outs.shape[0], -1)   # rows of whole runs, views
    numpy.maximum(xs, numpy.full(xs.shape[-1:], value, x.dtype), out=outs)


# --------------------------------------------------------------------------- batch norm's sums

def channel_dot(a, b):
    """sum(a * b) over every axis but axis 1: one pass, no product array (NumPy's einsum loops over it)."""
    return numpy.einsum("nc,nc->c" if a.ndim == 2 else "nchw,nchw->c", a, b)


# --------------------------------------------------------------------------- Adam

_ADAM_BLOCK = 1 << 16  # numbers per block: a block's four arrays and its temporaries stay in a core's L2 cache


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                bias_correction1, sqrt_bias_correction2):
    """One Adam step for one parameter, in place, one cache-sized block at a time, the blocks cut over the cores.

    Each step of the formula is one NumPy pass. Over a whole 5 MB weight, every pass would read and write
    main memory; over a 256 KB block, the dozen passes run in the cache and only the first and last touch
    memory (on the reference DCGAN's weights, alone: 7.4 ms a step whole, 4.0 ms in blocks, on this project's
    2-core machine). Blocks of the flattened arrays are views, so the updates land in the arrays themselves.
    Each number's update reads no other number, so the blocks may run in any order and on any core: where one
    core cannot draw the four arrays from memory as fast as the passes consume them (an AMD EPYC with AVX2),
    two cores take the reference DCGAN's update from about 9 ms a step to 6-7."""
    arrays = [param, grad, exp_avg, exp_avg_sq] + ([max_exp_avg_sq] if max_exp_avg_sq is not None else [])
    if param.size <= _ADAM_BLOCK or not all(a.flags.c_contiguous for a in arrays):  # one block, or no views
        return _adam_block(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                           weight_decay, bias_correction1, sqrt_bias_correction2)
    flat = [a.reshape(-1) for a in arrays] + ([None] if max_exp_avg_sq is None else [])
    starts = range(0, param.size, _ADAM_BLOCK)

    def update(part):   # the blocks starts[part], one after another
        for start in starts[part]:
            block = slice(start, start + _ADAM_BLOCK)
            _adam_block(*(a[block] if a is not None else None for a in flat), lr, beta1, beta2, eps,
                        weight_decay, bias_correction1, sqrt_bias_correction2)
    on_all_cores(update, len(starts), param.size * len(arrays))


def _adam_block(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                bias_correction1, sqrt_bias_correction2):
    if weight_decay:
        grad = grad + weight_decay * param
    exp_avg *= beta1
    exp_avg += (1 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (grad * grad)
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        numpy.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    denom = numpy.sqrt(second)
    denom /= sqrt_bias_correction2
    denom += eps
    param -= (lr / bias_correction1) * (exp_avg / denom)
