"""Normalization: batch normalization (Ioffe and Szegedy, 2015) for (n, c) and (n, c, h, w) inputs, and layer
normalization (Ba et al., 2016), which a critic trained with a gradient penalty uses in its place.

Batch norm's statistics are per channel, over every axis but the channel axis (m values each):
    xhat = (x - mean) / sqrt(var + eps),   y = gamma * xhat + beta
and the backward in its compact closed form (invstd = 1 / sqrt(var + eps), sums over the same axes):
    gbeta = sum(gy),   ggamma = sum(gy * xhat),   gx = gamma * invstd * (gy - (xhat * ggamma + gbeta) / m)
A plain backward computes gx from the input and its per-channel mean (the forward keeps nothing of the
input's size besides the input itself), in five passes over the large arrays with one new array; the sums of
products are per-channel dot products (`_channel_dot`), which form no product array. Channels are independent
of one another, so forward and backward work on slices of channels, which `kernels.over_channels` cuts over
the CPU's cores. Under create_graph the same formula is built from differentiable ops instead.
"""
import math
import string

from minigan import kernels
from minigan.autograd.tensor import Function, Tensor, is_grad_enabled, no_grad
from minigan.backend import get_array_module, is_int
from minigan.ops.reductions import mean, sum


def _axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _per_channel(v, ndim):
    """A (c,) vector shaped to broadcast against (n, c) or (n, c, h, w)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_dot(a, b):
    """sum(a * b) over every axis but the channel axis, shaped (1, c) or (1, c, 1, 1), without forming a * b."""
    return _per_channel(kernels.channel_dot(a, b), a.ndim)


def _check_statistics(op, x, shape, **tensors):
    """Raise, naming the op and the tensor, if a given per-channel (or per-element) tensor does not have
    `shape` or x's dtype."""
    for name, t in tensors.items():
        if t is not None and t.shape != shape:
            raise ValueError(f"{op}: {name} has shape {t.shape}, expected {shape} for input {x.shape}")
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{op}: {name} dtype {t.dtype} differs from input dtype {x.dtype}")


def _normalize(x, axes, eps):
    """xhat and invstd as differentiable ops of x (for the graph of a second derivative)."""
    centred = x - mean(x, axes, keepdim=True)
    invstd = (mean(centred * centred, axes, keepdim=True) + eps) ** -0.5
    return centred * invstd, invstd


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, batch statistics  ->  the closed form above"""

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, gamma, beta):
        xp = get_array_module(x)
        m = x.dtype.type(x.size // x.shape[1])
        stats = _per_channel(gamma, x.ndim).shape                            # (1, c) or (1, c, 1, 1)
        self.mean, self.var = xp.empty(stats, x.dtype), xp.empty(stats, x.dtype)
        y = xp.empty_like(x)

        def normalize(part):  # channels `part` alone: every statistic is per channel
            xs, ys = x[:, part], y[:, part]
            self.mean[:, part] = xs.mean(axis=_axes(x), keepdims=True)
            xp.subtract(xs, self.mean[:, part], out=ys)                      # y holds the centred input ...
            self.var[:, part] = _channel_dot(ys, ys) / m                     # biased, for normalizing
            ys *= _per_channel(gamma[part], x.ndim) / xp.sqrt(self.var[:, part] + x.dtype.type(self.eps))
            ys += _per_channel(beta[part], x.ndim)                           # ... and then the output
        kernels.over_channels(x, normalize, x.shape[1])
        self.invstd = 1 / xp.sqrt(self.var + x.dtype.type(self.eps))
        return y

    def backward(self, gy):
        x, gamma, _ = self.inputs
        if not is_grad_enabled():
            gx, ggamma, gbeta = _batch_norm_grad(gy.data, x.data, self.mean, self.invstd, gamma.data)
            return Tensor(gx), Tensor(ggamma), Tensor(gbeta)
        # create_graph: rebuild the statistics from x so that their dependence on x is differentiated too
        axes = _axes(x)
        m = x.data.size // x.shape[1]
        xhat, invstd = _normalize(x, axes, self.eps)
        gbeta = sum(gy, axes, keepdim=True)
        ggamma = sum(gy * xhat, axes, keepdim=True)
        a = _per_channel(gamma, x.ndim) * invstd                  # (1, c, 1, 1): per-channel factors
        gx = a * gy + (xhat * (-a * ggamma / m) + (-a * gbeta / m))
        return gx, ggamma.reshape(gamma.shape), gbeta.reshape(gamma.shape)


def _batch_norm_grad(gy, x, mean, invstd, gamma):
    """The closed form above on raw arrays, with xhat = (x - mean) * invstd folded into per-channel factors.
    The centred input is made again, in gx's own memory, rather than kept from the forward pass."""
    xp = get_array_module(gy)
    m = x.dtype.type(x.size // x.shape[1])
    gx = xp.empty_like(x)
    gbeta, ggamma = xp.empty(gamma.shape, gy.dtype), xp.empty(gamma.shape, gy.dtype)

    def differentiate(part):  # channels `part` alone
        g, s, out = gy[:, part], invstd[:, part], gx[:, part]
        xp.subtract(x[:, part], mean[:, part], out=out)                  # the centred input, for now
        beta_sum = g.sum(axis=_axes(g), keepdims=True)
        gamma_sum = _channel_dot(g, out) * s
        out *= s * gamma_sum / m                                         # xhat * ggamma / m
        out += beta_sum / m
        xp.subtract(g, out, out=out)                                     # gy - (xhat * ggamma + gbeta) / m
        out *= _per_channel(gamma[part], g.ndim) * s
        gbeta[part], ggamma[part] = beta_sum.reshape(-1), gamma_sum.reshape(-1)
    kernels.over_channels(gy, differentiate, gy.shape[1])
    return gx, ggamma, gbeta


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization, as torch.nn.functional.batch_norm.

    training=True normalizes with the batch's statistics (biased variance) and updates the running buffers
    in place with momentum (the unbiased variance, as torch); training=False normalizes with the buffers.
    """
    x = input
    if x.ndim not in (2, 4):
        raise ValueError(f"batch_norm: input must be (n, c) or (n, c, h, w), got shape {x.shape}")
    c = x.shape[1]
    _check_statistics("batch_norm", x, (c,), running_mean=running_mean, running_var=running_var, weight=weight,
                      bias=bias)
    xp = get_array_module(x.data)
    gamma = weight if weight is not None else Tensor(xp.ones(c, dtype=x.dtype))
    beta = bias if bias is not None else Tensor(xp.zeros(c, dtype=x.dtype))
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode (training=False) needs running_mean and running_var")
        scale = gamma * Tensor((running_var.data + x.dtype.type(eps)) ** -0.5)
        return (x - Tensor(_per_channel(running_mean.data, x.ndim))) * _per_channel(scale, x.ndim) \
            + _per_channel(beta, x.ndim)
    m = x.data.size // c
    if m < 2:
        raise ValueError(f"batch_norm: training needs more than one value per channel, got input shape {x.shape}")
    f = BatchNorm(eps)
    y = f(x, gamma, beta)
    if running_mean is not None:
        with no_grad():
            running_mean.mul_(1 - momentum).add_(f.mean.reshape(c), alpha=momentum)
    if running_var is not None:
        with no_grad():
            running_var.mul_(1 - momentum).add_(f.var.reshape(c) * x.dtype.type(m / (m - 1)), alpha=momentum)
    f.var = None  # backward needs the input, the mean and invstd
    return y


def _spec(ndim, summed, operands):
    """The einsum subscripts that sum the product of `operands` arrays of `ndim` axes over the axes `summed`."""
    letters = string.ascii_letters[:ndim]
    return ",".join([letters] * operands) + "->" + "".join(c for i, c in enumerate(letters) if i not in summed)


def _means(axes, *arrays):
    """The mean over `axes` of one array, or of the product of two, with those axes kept at size one. By
    einsum, which forms no product array, and which over a sample of the critic's activations (laid out with
    the samples innermost) reduces about three times faster than NumPy's mean."""
    first = arrays[0]
    total = get_array_module(first).einsum(_spec(first.ndim, axes, len(arrays)), *arrays)
    count = math.prod(first.shape[i] for i in axes)
    return (total / first.dtype.type(count)).reshape([1 if i in axes else n for i, n in enumerate(first.shape)])


def _normalized(x, axes, eps):
    """xhat and invstd of x over `axes`, as arrays (layer norm's forward)."""
    centred = x - _means(axes, x)
    invstd = 1 / get_array_module(x).sqrt(_means(axes, centred, centred) + x.dtype.type(eps))
    centred *= invstd
    return centred, invstd


class LayerNorm(Function):
    """y = w * xhat + b, xhat = (x - mean) * invstd per sample over the last axes  ->
    gxhat = gy * w,  gx = invstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat)),  gw = sum_n gy * xhat,
    gb = sum_n gy   (means over the normalized axes, sums over the others)"""

    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x, w, b):
        self.xhat, self.invstd = _normalized(x, self.axes, self.eps)
        y = self.xhat * w
        y += b
        return y

    def backward(self, gy):
        x, w, _ = self.inputs
        lead = tuple(range(x.ndim - len(self.axes)))
        if not is_grad_enabled():
            xhat, g = self.xhat, gy.data * w.data
            gx = g - _means(self.axes, g)
            gx -= xhat * _means(self.axes, g, xhat)
            gx *= self.invstd
            gw = get_array_module(g).einsum(_spec(gy.ndim, lead, 2), gy.data, xhat)
            return Tensor(gx), Tensor(gw), Tensor(gy.data.sum(axis=lead))
        # create_graph: gx by NormalizedGrad, whose backward is the closed form of the second derivative; gw
        # from xhat rebuilt of differentiable ops, so that its dependence on x is differentiated too
        gx = NormalizedGrad(self.axes, self.eps, self.xhat, self.invstd)(gy * w, x)
        return (gx, sum(gy * _normalize(x, self.axes, self.eps)[0], lead) if self.needs_grad(1) else None,
                sum(gy, lead) if self.needs_grad(2) else None)


class NormalizedGrad(Function):
    """The input gradient of xhat = (x - mean) * invstd (layer norm without its weight and bias), as an op of
    the upstream gradient g and of x, so that a second derivative through layer norm has a closed form too.
    <v> is the mean over the normalized axes, P(v) = v - <v> - xhat <v xhat>:

        gx = invstd * P(g)
        ->  gg = invstd * P(a) = q,   gx' = -invstd * (<a gx> xhat + <g xhat> q + <a xhat> gx)

    for the upstream gradient a of gx. (gx' follows from d invstd = -invstd^2 <xhat dx> and
    d xhat = invstd * P(dx), and P is its own adjoint.) Under create_graph the same formula is built from
    differentiable ops, so every higher derivative is exact as well."""
    reads_output = True   # the backward reads gx

    def __init__(self, axes, eps, xhat=None, invstd=None):
        self.axes, self.eps, self.xhat, self.invstd = axes, eps, xhat, invstd

    def forward(self, g, x):
        if self.xhat is None:   # called on its own, not from a layer norm that has them already
            self.xhat, self.invstd = _normalized(x, self.axes, self.eps)
        self.g_xhat = _means(self.axes, g, self.xhat)   # <g xhat>
        gx = g - _means(self.axes, g)
        gx -= self.xhat * self.g_xhat
        gx *= self.invstd
        self.gx = gx
        return gx

    def backward(self, a):
        g, x = self.inputs
        if not is_grad_enabled():
            a, xhat, s, gx = a.data, self.xhat, self.invstd, self.gx
            a_xhat = _means(self.axes, a, xhat)
            q = a - _means(self.axes, a)
            q -= xhat * a_xhat
            q *= s
            if not self.needs_grad(1):
                return Tensor(q), None
            gx2 = xhat * _means(self.axes, a, gx)
            gx2 += self.g_xhat * q
            gx2 += a_xhat * gx
            gx2 *= -s
            return Tensor(q), Tensor(gx2)
        xhat, s = _normalize(x, self.axes, self.eps)   # as differentiable ops of x, for the next derivative

        def P(v):
            return v - mean(v, self.axes, keepdim=True) - xhat * mean(v * xhat, self.axes, keepdim=True)
        gx, q = s * P(g), s * P(a)
        if not self.needs_grad(1):
            return q, None
        return q, -s * (mean(a * gx, self.axes, keepdim=True) * xhat + mean(g * xhat, self.axes, keepdim=True) * q
                        + mean(a * xhat, self.axes, keepdim=True) * gx)


def layer_norm_grad(grad, input, normalized_shape, eps=1e-5):
    """The input gradient of layer_norm(input, normalized_shape) without weight and bias, for the upstream
    gradient `grad`, as an op (NormalizedGrad): what a second derivative through layer norm differentiates."""
    normalized_shape = (normalized_shape,) if is_int(normalized_shape) else tuple(normalized_shape)
    k = len(normalized_shape)
    if not 1 <= k <= input.ndim or input.shape[input.ndim - k:] != normalized_shape or grad.shape != input.shape:
        raise ValueError(f"layer_norm_grad: normalized_shape {normalized_shape} must be the last axes of the input, "
                         f"and the gradient of the input's shape; got input {input.shape}, gradient {grad.shape}")
    return NormalizedGrad(tuple(range(input.ndim - k, input.ndim)), eps)(grad, input)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization, as torch.nn.functional.layer_norm: each sample is normalized over its last
    len(normalized_shape) axes, with its own statistics, then scaled and shifted elementwise:

        xhat = (x - mean) / sqrt(var + eps)   (mean and biased var over those axes, per sample),
        y = weight * xhat + bias              (weight and bias of shape normalized_shape)

    Unlike batch norm no statistic mixes samples, so a per-sample gradient penalty stays per sample. The
    backward is the closed form above; under create_graph its input gradient is an op of its own
    (NormalizedGrad), whose backward is the second derivative in closed form, and the rest is built from
    differentiable ops."""
    x = input
    normalized_shape = (normalized_shape,) if is_int(normalized_shape) else tuple(normalized_shape)
    k = len(normalized_shape)
    if not 1 <= k <= x.ndim or x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} must be the last axes of the input, "
                         f"got input shape {x.shape}")
    _check_statistics("layer_norm", x, normalized_shape, weight=weight, bias=bias)
    xp = get_array_module(x.data)
    weight = weight if weight is not None else Tensor(xp.ones(normalized_shape, dtype=x.dtype))
    bias = bias if bias is not None else Tensor(xp.zeros(normalized_shape, dtype=x.dtype))
    return LayerNorm(tuple(range(x.ndim - k, x.ndim)), eps)(x, weight, bias)
