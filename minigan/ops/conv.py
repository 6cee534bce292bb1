"""Convolution, transposed convolution, and the weight gradient: three ops, each the others' backward.

Shape letters: n batch, c input channels, oc output channels, g groups, h, w input size,
kh, kw kernel, out_h, out_w output size. A convolution with weight W (oc, c/g, kh, kw) is linear in x and
in W, so both of its gradients are linear maps too, and each is one of the three ops:

    y  = conv2d(x, W)                         gx = conv_transpose2d(gy, W)     gW = conv2d_weight(x, gy)
    y  = conv_transpose2d(x, W)               gx = conv2d(gy, W)               gW = conv2d_weight(gy, x)
    gW = conv2d_weight(x, gy)                 gx = conv_transpose2d(gy, ggW)   ggy = conv2d(x, ggW)

The last line is the backward of the backward: with it, second derivatives through a convolutional
network (gradient penalties) are exact. The transposed convolution is the adjoint of the convolution:
<conv2d(x, W), y> = <x, conv_transpose2d(y, W)>, which is the whole of its definition here.
"""
from collections import namedtuple

from minigan import kernels
from minigan.autograd.tensor import Function, is_grad_enabled
from minigan.backend import get_array_module, is_int
from minigan.ops.reductions import sum

Geometry = namedtuple("Geometry", "stride padding dilation groups")


def _grouped(a, groups):
    """(g * m, k) -> (g, m, k): one matrix per group."""
    return a.reshape(groups, a.shape[0] // groups, -1)


def _matmul(a, b):
    """Batched over groups; a single group goes straight to one 2-D product. A product over one term (the
    input gradient of a layer with one output channel) is an outer product, which BLAS is slow at. An operand
    with a zero stride (the gradient of a sum or a mean arrives broadcast) is written out first: BLAS cannot
    read it, and NumPy's own loop for it is a hundred times slower."""
    if a.shape[2] == 1:
        return a * b                                                          # (g, m, 1) * (g, 1, k)
    xp = get_array_module(a)
    a, b = (xp.ascontiguousarray(m) if 0 in m.strides else m for m in (a, b))
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return xp.matmul(a, b)


def _conv_forward(x, W, geo, size=None):
    """y (n, oc, out_h, out_w) = W (g, oc/g, c/g*kh*kw) @ im2col(x) (g, c/g*kh*kw, out_h*out_w*n).
    Returns y and the columns (which the weight gradient can reuse)."""
    oc, _, kh, kw = W.shape
    col = kernels.im2col(x, (kh, kw), geo.stride, geo.padding, geo.dilation,
                         out_size=size)                                       # (c, kh, kw, out_h, out_w, n)
    out_h, out_w, n = col.shape[-3:]
    y = _matmul(_grouped(W.reshape(oc, -1), geo.groups), _grouped(col.reshape(-1, out_h * out_w * n), geo.groups))
    return y.reshape(oc, out_h, out_w, n).transpose(3, 0, 1, 2), col         # (n, oc, out_h, out_w)


def _conv_transpose_forward(x, W, size, geo):
    """y = col2im(W^T @ x): each input pixel spreads W's kh x kw patch onto the output, overlaps added."""
    c, oc_g, kh, kw = W.shape                                                 # (c, oc/g, kh, kw)
    n, _, h, w = x.shape
    g = geo.groups
    Wt = W.reshape(g, c // g, oc_g * kh * kw).transpose(0, 2, 1)              # (g, oc/g*kh*kw, c/g)
    x_cols = x.transpose(1, 2, 3, 0).reshape(g, c // g, h * w * n)            # (g, c/g, h*w*n)
    col = _matmul(Wt, x_cols).reshape(g * oc_g, kh, kw, h, w, n)              # (oc, kh, kw, h, w, n)
    return kernels.col2im(col, size, geo.stride, geo.padding, geo.dilation)   # (n, oc, out_h, out_w)


def _conv_weight(x, gy, kernel, geo, col=None):
    """gW (oc, c/g, kh, kw) = gy (g, oc/g, out_h*out_w*n) @ im2col(x)^T (g, out_h*out_w*n, c/g*kh*kw).
    `col`, when given, is im2col(x) already made by the forward convolution."""
    c = x.shape[1]
    oc = gy.shape[1]
    if col is None:
        col = kernels.im2col(x, kernel, geo.stride, geo.padding, geo.dilation,
                             out_size=gy.shape[2:])                           # (c, kh, kw, out_h, out_w, n)
    col = _grouped(col.reshape(c * kernel[0] * kernel[1], -1), geo.groups)    # (g, c/g*kh*kw, out_h*out_w*n)
    gy = _grouped(gy.transpose(1, 2, 3, 0).reshape(oc, -1), geo.groups)       # (g, oc/g, out_h*out_w*n)
    gW = _matmul(gy, col.transpose(0, 2, 1))                                  # (g, oc/g, c/g*kh*kw)
    return gW.reshape(oc, c // geo.groups, *kernel)


def _add_bias(y, b):
    y += b.reshape(1, -1, 1, 1)
    return y


class Conv2d(Function):
    """y = conv2d(x, W) + b  ->  gx = conv_transpose2d(gy, W),  gW = conv2d_weight(x, gy),  gb = sum gy

    `size`, when given, keeps only the first out_h x out_w outputs. A transposed convolution whose
    output_padding reaches past the stride (allowed when the dilation is larger) makes an output with rows
    that no input pixel reaches; the adjoint convolution of it must stop at the input's size.
    """

    def __init__(self, geo, size=None, keep_columns=False):
        self.geo, self.size, self.keep_columns = geo, size, keep_columns
        self.columns = None

    def forward(self, x, W, b=None):
        y, col = _conv_forward(x, W, self.geo, self.size)
        if self.keep_columns:  # the weight gradient needs im2col(x) again: keep it rather than redo it
            self.columns = col
        return y if b is None else _add_bias(y, b)

    def backward(self, gy):
        x, W = self.inputs[:2]
        # gW first: it uses the kept columns, which are then let go before gx makes columns of its own. A walk that
        # records a graph (create_graph) and wants no gW, as a penalty's grad() for the input alone, leaves them to
        # the graph's next walk, the penalty's backward, which makes gW.
        gW = Conv2dWeight(self.geo, W.shape[2:], self.columns)(x, gy) if self.needs_grad(1) else None
        if gW is not None or not is_grad_enabled():
            self.columns = None
        gx = ConvTranspose2d(self.geo, x.shape[2:])(gy, W) if self.needs_grad(0) else None
        if len(self.inputs) == 2:
            return gx, gW
        return gx, gW, sum(gy, (0, 2, 3))


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W) + b  ->  gx = conv2d(gy, W),  gW = conv2d_weight(gy, x),  gb = sum gy"""

    def __init__(self, geo, size):
        self.geo, self.size = geo, tuple(size)

    def forward(self, x, W, b=None):
        y = _conv_transpose_forward(x, W, self.size, self.geo)
        return y if b is None else _add_bias(y, b)

    def backward(self, gy):
        x, W = self.inputs[:2]
        # gx and gW both read im2col(gy): the convolution makes it once and hands it to the weight gradient.
        adjoint = Conv2d(self.geo, x.shape[2:], keep_columns=self.needs_grad(1))
        gx = adjoint(gy, W) if self.needs_grad(0) else None
        gW = Conv2dWeight(self.geo, W.shape[2:], adjoint.columns)(gy, x) if self.needs_grad(1) else None
        if len(self.inputs) == 2:
            return gx, gW
        return gx, gW, sum(gy, (0, 2, 3))


class Conv2dWeight(Function):
    """gW = conv2d_weight(x, gy), the weight gradient of a convolution; bilinear in (x, gy), so
    ggW -> gx = conv_transpose2d(gy, ggW),  ggy = conv2d(x, ggW)"""

    def __init__(self, geo, kernel, columns=None):
        self.geo, self.kernel, self.columns = geo, tuple(kernel), columns

    def forward(self, x, gy):
        gW = _conv_weight(x, gy, self.kernel, self.geo, self.columns)
        self.columns = None
        return gW

    def backward(self, ggW):
        x, gy = self.inputs
        gx = ConvTranspose2d(self.geo, x.shape[2:])(gy, ggW) if self.needs_grad(0) else None
        ggy = Conv2d(self.geo, gy.shape[2:])(x, ggW) if self.needs_grad(1) else None
        return gx, ggy


# --------------------------------------------------------------------------- public functions and their checks

SMALLEST = {"kernel_size": 1, "stride": 1, "dilation": 1, "padding": 0, "output_padding": 0}


def int_pair(value, name, op):
    """(value, value) for an int, the pair itself for a pair of ints, as Python's ints (the CUDA kernels take them
    as their own arguments); anything else, or a value below the smallest the argument `name` may take
    (SMALLEST), is refused with a message naming the op and the argument."""
    minimum = SMALLEST[name]
    pair = (value, value) if is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair) != 2 or not all(is_int(v) for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return tuple(int(v) for v in pair)


def _check(op, x, W, bias, groups, in_axis, out_axis):
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (n, c, h, w), got shape {x.shape}")
    if W.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D, got shape {W.shape}")
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c_in = W.shape[in_axis] * (groups if in_axis == 1 else 1)
    c_out = W.shape[out_axis] * (groups if out_axis == 1 else 1)
    if x.shape[1] != c_in:
        raise ValueError(f"{op}: input has {x.shape[1]} channels (shape {x.shape}) but weight {W.shape} "
                         f"with groups={groups} expects {c_in}")
    if c_in % groups or c_out % groups:
        raise ValueError(f"{op}: groups={groups} must divide both in_channels={c_in} and out_channels={c_out} "
                         f"(weight {W.shape})")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"{op}: bias has shape {bias.shape}, expected ({c_out},)")
    for name, t in (("weight", W), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{op}: {name} dtype {t.dtype} differs from input dtype {x.dtype}")
    return c_out


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as torch.nn.functional.conv2d; weight (out, in/groups, kh, kw)."""
    op = "conv2d"
    stride, padding = int_pair(stride, "stride", op), int_pair(padding, "padding", op)
    dilation = int_pair(dilation, "dilation", op)
    _check(op, input, weight, bias, groups, in_axis=1, out_axis=0)
    out = [kernels.conv_out_size(input.shape[2 + i], weight.shape[2 + i], stride[i], padding[i], dilation[i])
           for i in range(2)]
    if min(out) < 1:
        raise ValueError(f"{op}: input of shape {input.shape} is too small for kernel {weight.shape[2:]} with "
                         f"stride={stride}, padding={padding}, dilation={dilation}: output size would be {tuple(out)}")
    geo = Geometry(stride, padding, dilation, groups)
    args = (input, weight) if bias is None else (input, weight, bias)
    return Conv2d(geo, keep_columns=weight.requires_grad and is_grad_enabled())(*args)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed convolution (the adjoint of conv2d), as torch.nn.functional.conv_transpose2d;
    weight (in, out/groups, kh, kw). Output size: (h - 1) * stride - 2 * padding + dilation * (k - 1)
    + output_padding + 1."""
    op = "conv_transpose2d"
    stride, padding = int_pair(stride, "stride", op), int_pair(padding, "padding", op)
    dilation = int_pair(dilation, "dilation", op)
    output_padding = int_pair(output_padding, "output_padding", op)
    for i in range(2):
        if output_padding[i] >= max(stride[i], dilation[i]):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than stride {stride} or "
                             f"dilation {dilation}")
    _check(op, input, weight, bias, groups, in_axis=0, out_axis=1)
    size = tuple((input.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (weight.shape[2 + i] - 1)
                 + output_padding[i] + 1 for i in range(2))
    if min(size) < 1:
        raise ValueError(f"{op}: input of shape {input.shape} with kernel {weight.shape[2:]}, stride={stride}, "
                         f"padding={padding}, dilation={dilation} gives output size {size}")
    geo = Geometry(stride, padding, dilation, groups)
    args = (input, weight) if bias is None else (input, weight, bias)
    return ConvTranspose2d(geo, size)(*args)


def conv2d_weight(input, grad_output, weight_size, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv2d with respect to its weight (shape `weight_size`), as a differentiable op
    (torch.nn.grad.conv2d_weight)."""
    op = "conv2d_weight"
    geo = Geometry(int_pair(stride, "stride", op), int_pair(padding, "padding", op),
                   int_pair(dilation, "dilation", op), groups)
    return Conv2dWeight(geo, tuple(weight_size[2:]))(input, grad_output)
