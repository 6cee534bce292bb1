"""The CUDA convolution kernels (CuPy), with the same layouts as the NumPy ones in cpu.py.

Shape letters: n batch, c channels, h, w image size, kh, kw kernel, sy, sx stride, ph, pw padding,
dy, dx dilation, out_h, out_w output size. Columns are (c, kh, kw, out_h, out_w, n); images are read and
written as (c, h, w, n) in memory, the order minigan's activations live in (see cpu.py).

Each kernel is one CuPy ElementwiseKernel, defined once here and compiled on first use. In both, thread i
computes one element of the output, so no two threads write the same place: no atomics, and the same result
every run.
"""
import cupy

from minigan.kernels.cpu import conv_out_size

# One thread per column entry (ch, k, j, oy, ox, b): the input pixel window (k, j) of output pixel (oy, ox)
# reads, or the padding value when that pixel falls outside the image.
_im2col = cupy.ElementwiseKernel(
    "raw T x, int32 h, int32 w, int32 n, int32 kh, int32 kw, int32 out_h, int32 out_w, "
    "int32 sy, int32 sx, int32 ph, int32 pw, int32 dy, int32 dx, T pad",
    "T col",
    """
    ptrdiff_t rest = i;
    const int b = rest % n;      rest /= n;
    const int ox = rest % out_w; rest /= out_w;
    const int oy = rest % out_h; rest /= out_h;
    const int j = rest % kw;     rest /= kw;
    const int k = rest % kh;
    const ptrdiff_t ch = rest / kh;
    const int y = oy * sy - ph + k * dy;
    const int xx = ox * sx - pw + j * dx;
    col = (0 <= y && y < h && 0 <= xx && xx < w) ? x[((ch * h + y) * w + xx) * n + b] : pad;
    """,
    "minigan_im2col")

# One thread per image entry (ch, y, xx, b): it gathers every column entry that im2col would have read from
# this pixel. Window row k at output row oy covers y when oy * sy = y + ph - k * dy, so for each k the
# output row is known, and valid when that is a whole multiple of sy inside [0, out_h); likewise for columns.
_col2im = cupy.ElementwiseKernel(
    "raw T col, int32 h, int32 w, int32 n, int32 kh, int32 kw, int32 out_h, int32 out_w, "
    "int32 sy, int32 sx, int32 ph, int32 pw, int32 dy, int32 dx",
    "T img",
    """
    ptrdiff_t rest = i;
    const int b = rest % n;   rest /= n;
    const int xx = rest % w;  rest /= w;
    const int y = rest % h;
    const ptrdiff_t ch = rest / h;
    T total = 0;
    for (int k = 0; k < kh; ++k) {
        const int ty = y + ph - k * dy;
        if (ty < 0 || ty % sy != 0 || ty / sy >= out_h) continue;
        for (int j = 0; j < kw; ++j) {
            const int tx = xx + pw - j * dx;
            if (tx < 0 || tx % sx != 0 || tx / sx >= out_w) continue;
            total += col[((((ch * kh + k) * kw + j) * out_h + ty / sy) * out_w + tx / sx) * n + b];
        }
    }
    img = total;
    """,
    "minigan_col2im")

# sum(x * y) over the axes a call names, one total per channel: CuPy maps each pair to its product and
# reduces them in one launch, forming no product array (through CuPy's einsum, the same sums took a dozen
# Python calls each, which in a step bound by launches cost more than the arithmetic).
_channel_dot = cupy.ReductionKernel("T x, T y", "T total", "x * y", "a + b", "total = a", "0",
                                    "minigan_channel_dot")

# One Adam step for one element of one parameter (see minigan/optim/adam.py for the formula): the whole
# update in one launch, where the array version takes about ten. AMSGrad divides by the running maximum of v.
_ADAM = """
    const T g = grad + (T)wd * param;
    m = (T)beta1 * m + (T)(1 - beta1) * g;
    v = (T)beta2 * v + (T)(1 - beta2) * g * g;
    {keep_max}
    param -= (T)(lr / bc1) * m / (sqrt({second}) / (T)sbc2 + (T)eps);
"""
_ADAM_SCALARS = "T grad, float64 lr, float64 beta1, float64 beta2, float64 eps, float64 wd, float64 bc1, float64 sbc2"
_adam = cupy.ElementwiseKernel(_ADAM_SCALARS, "T param, T m, T v", _ADAM.format(keep_max="", second="v"),
                               "minigan_adam")
_adam_amsgrad = cupy.ElementwiseKernel(_ADAM_SCALARS, "T param, T m, T v, T vmax",
                                       _ADAM.format(keep_max="vmax = max(vmax, v);", second="vmax"),
                                       "minigan_adam_amsgrad")


def im2col(x, kernel, stride, padding, dilation, pad_value=0, out_size=None):
    n, c, h, w = x.shape
    (kh, kw), (sy, sx), (ph, pw), (dy, dx) = kernel, stride, padding, dilation
    out_h, out_w = out_size or (conv_out_size(h, kh, sy, ph, dy), conv_out_size(w, kw, sx, pw, dx))
    image = cupy.ascontiguousarray(x.transpose(1, 2, 3, 0))                 # (c, h, w, n), free if already so
    col = cupy.empty((c, kh, kw, out_h, out_w, n), dtype=x.dtype)
    _im2col(image, h, w, n, kh, kw, out_h, out_w, sy, sx, ph, pw, dy, dx, x.dtype.type(pad_value), col)
    return col


def col2im(col, size, stride, padding, dilation):
    c, kh, kw, out_h, out_w, n = col.shape
    (h, w), (sy, sx), (ph, pw), (dy, dx) = size, stride, padding, dilation
    image = cupy.empty((c, h, w, n), dtype=col.dtype)
    _col2im(cupy.ascontiguousarray(col), h, w, n, kh, kw, out_h, out_w, sy, sx, ph, pw, dy, dx, image)
    return image.transpose(3, 0, 1, 2)                                       # (n, c, h, w), a view


def maximum_with(x, value, out):
    cupy.maximum(x, value, out=out)


def channel_dot(a, b):
    return _channel_dot(a, b, axis=(0,) + tuple(range(2, a.ndim)))


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                bias_correction1, sqrt_bias_correction2):
    scalars = (lr, beta1, beta2, eps, weight_decay, bias_correction1, sqrt_bias_correction2)
    if max_exp_avg_sq is None:
        _adam(grad, *scalars, param, exp_avg, exp_avg_sq)
    else:
        _adam_amsgrad(grad, *scalars, param, exp_avg, exp_avg_sq, max_exp_avg_sq)
