"""Pooling. Average pooling is a convolution with a constant kernel, so its gradients are the conv ops'.
Max pooling picks one element per window (the first largest, as torch does); its backward sends the
gradient back to that element, and the backward of that is picking again:

    y   = gather(x)      (the winner of each window)       gx  = scatter(gy)   (to the winners, zeros elsewhere)
    gx  = scatter(gy)                                       ggy = gather(ggx)
"""
from minigan import kernels
from minigan.autograd.tensor import Function, Tensor, is_grad_enabled
from minigan.backend import get_array_module
from minigan.ops.conv import conv2d, int_pair
from minigan.ops.shapes import reshape


def _pool_args(op, x, kernel_size, stride, padding, dilation=1):
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (n, c, h, w), got shape {x.shape}")
    kernel = int_pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else int_pair(stride, "stride", op)
    padding = int_pair(padding, "padding", op)
    dilation = int_pair(dilation, "dilation", op)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    out = [kernels.conv_out_size(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(2)]
    if min(out) < 1:
        raise ValueError(f"{op}: input of shape {x.shape} is too small for kernel {kernel}: output size {tuple(out)}")
    return kernel, stride, padding, dilation


def _windows(x, geo, pad_value):
    """im2col(x) with the kernel's two axes merged: (c, kh*kw, out_h, out_w, n)."""
    col = kernels.im2col(x, *geo, pad_value=pad_value)                       # (c, kh, kw, out_h, out_w, n)
    return col.reshape(col.shape[0], -1, *col.shape[3:])


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """The mean of each window (zero padding counted, as torch's default count_include_pad=True)."""
    kernel, stride, padding, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding)
    n, c, h, w = input.shape
    xp = get_array_module(input.data)
    box = Tensor(xp.full((1, 1) + kernel, 1 / (kernel[0] * kernel[1]), dtype=input.dtype))
    y = conv2d(reshape(input, (n * c, 1, h, w)), box, stride=stride, padding=padding)  # each channel alone
    return reshape(y, (n, c) + y.shape[2:])


class WindowGather(Function):
    """y = x at one chosen element of each window  ->  gx = WindowScatter(gy)"""
    reads_inputs = False

    def __init__(self, geo, winners, columns=None):
        self.geo, self.winners = geo, winners  # winners: (c, 1, out_h, out_w, n) index into kh*kw
        self.columns = columns                 # im2col(x) when the caller has made it already

    def forward(self, x):
        col = self.columns
        if col is None:
            col = _windows(x, self.geo, 0)                                   # (c, kh*kw, out_h, out_w, n)
        self.columns = None
        xp = get_array_module(x)
        return xp.take_along_axis(col, self.winners, axis=1)[:, 0].transpose(3, 0, 1, 2)  # (n, c, out_h, out_w)

    def backward(self, gy):
        return WindowScatter(self.geo, self.winners, self.inputs[0].shape[2:])(gy)


class WindowScatter(Function):
    """y = zeros with gy placed at each window's chosen element (overlaps added)  ->  gx = WindowGather(ggy)"""
    reads_inputs = False

    def __init__(self, geo, winners, size):
        self.geo, self.winners, self.size = geo, winners, size

    def forward(self, gy):
        kernel, stride, padding, dilation = self.geo
        xp = get_array_module(gy)
        c, _, out_h, out_w, n = self.winners.shape
        col = xp.zeros((c, kernel[0] * kernel[1], out_h, out_w, n), dtype=gy.dtype)
        xp.put_along_axis(col, self.winners, gy.transpose(1, 2, 3, 0)[:, None], axis=1)
        return kernels.col2im(col.reshape(c, *kernel, out_h, out_w, n), self.size, stride, padding, dilation)

    def backward(self, ggx):
        return WindowGather(self.geo, self.winners)(ggx)


class WindowMax(Function):
    """y = the largest element of each window, for a pass that nothing differentiates (no backward)"""

    def forward(self, col):
        return col.max(axis=1).transpose(3, 0, 1, 2)                         # (n, c, out_h, out_w)

    def backward(self, gy):
        raise RuntimeError("WindowMax has no backward: max_pool2d uses it only where no gradient is asked for")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1):
    """The largest element of each window (padding never wins), as torch.nn.functional.max_pool2d."""
    geo = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation)
    col = _windows(input.data, geo, -float("inf"))                          # (c, kh*kw, out_h, out_w, n)
    if not (is_grad_enabled() and input.requires_grad):
        # Nothing will differentiate it (the classifier of the metrics, scoring samples): the largest of each
        # window is all that is needed, not which element it was. A maximum rounds nothing, so these are the
        # gather's numbers (nan too: both keep it), in a fifth of its time on a batch of the classifier's
        # activations (9.4 ms against 52.8 for its first layer's 500 x 16 x 28 x 28, on a 2-core AMD EPYC).
        return WindowMax()(Tensor(col))
    winners = col.argmax(axis=1)[:, None]                                    # (c, 1, out_h, out_w, n)
    # Padding is at most half a window, so no window is all padding and no winner points at it: the
    # gather can read these columns (their -inf padding is never picked) instead of making new ones.
    return WindowGather(geo, winners, col)(input)
