"""The NumPy convolution kernels: im2col as one strided view and one copy; col2im as kh * kw strided adds.

Shape letters: n batch, c channels, h, w input height and width, kh, kw kernel, sy, sx stride,
ph, pw padding, dy, dx dilation, out_h, out_w output height and width.

The column layout (c, kh, kw, n, out_h, out_w) puts the channel-and-offset axes first and the
batch-and-pixel axes last, so a convolution is one matrix product W (oc, c*kh*kw) @ col (c*kh*kw, n*out_h*out_w)
with no transpose of the large operand, and col2im adds contiguous (c, n, out_h, out_w) blocks.
"""
import numpy
from numpy.lib.stride_tricks import as_strided


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def im2col(x, kernel, stride, padding, dilation, pad_value=0, out_size=None):
    n, c, h, w = x.shape
    kh, kw = kernel
    sy, sx = stride
    ph, pw = padding
    dy, dx = dilation
    out_h, out_w = out_size or (_out_size(h, kh, sy, ph, dy), _out_size(w, kw, sx, pw, dx))
    padded = numpy.full((c, n, h + 2 * ph, w + 2 * pw), pad_value, dtype=x.dtype)  # (c, n, h + 2ph, w + 2pw)
    padded[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    s_c, s_n, s_h, s_w = padded.strides
    # Window (i, j) at output pixel (y, x) reads padded[c, n, y*sy + i*dy, x*sx + j*dx]: the strides say so.
    windows = as_strided(padded, shape=(c, kh, kw, n, out_h, out_w),
                         strides=(s_c, dy * s_h, dx * s_w, s_n, sy * s_h, sx * s_w), writeable=False)
    return numpy.ascontiguousarray(windows)                                  # (c, kh, kw, n, out_h, out_w)


def col2im(col, size, stride, padding, dilation):
    c, kh, kw, n, out_h, out_w = col.shape
    h, w = size
    sy, sx = stride
    ph, pw = padding
    dy, dx = dilation
    padded = numpy.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=col.dtype)                # (c, n, h + 2ph, w + 2pw)
    for i in range(kh):          # one strided add per kernel offset; each covers every channel and pixel
        for j in range(kw):
            y0, x0 = i * dy, j * dx
            padded[:, :, y0:y0 + sy * out_h:sy, x0:x0 + sx * out_w:sx] += col[:, i, j]
    return padded[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)          # (n, c, h, w), a view


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                bias_correction1, sqrt_bias_correction2):
    """One Adam step for one parameter, in place, with NumPy's in-place ufuncs (no temporaries beyond one)."""
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
