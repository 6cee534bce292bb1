"""Batch normalization (Ioffe and Szegedy, 2015), for (n, c) and (n, c, h, w) inputs.

Statistics are per channel, over every axis but the channel axis (m values each):
    xhat = (x - mean) / sqrt(var + eps),   y = gamma * xhat + beta
and the backward in its compact closed form (invstd = 1 / sqrt(var + eps), sums over the same axes):
    gbeta = sum(gy),   ggamma = sum(gy * xhat),   gx = gamma * invstd * (gy - (xhat * ggamma + gbeta) / m)
A plain backward computes gx from the centred input forward kept, in four passes over the large arrays with
one new array; the sums of products are per-channel dot products (`_channel_dot`), which form no product
array. Channels are independent of one another, so forward and backward work on slices of channels, which
`kernels.over_channels` cuts over the CPU's cores. Under create_graph the same formula is built from
differentiable ops instead.
"""
from minigan import kernels
from minigan.autograd.tensor import Function, Tensor, is_grad_enabled, no_grad
from minigan.backend import get_array_module
from minigan.ops.reductions import mean, sum


def _axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _per_channel(v, ndim):
    """A (c,) vector shaped to broadcast against (n, c) or (n, c, h, w)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_dot(a, b):
    """sum(a * b) over every axis but the channel axis, shaped (1, c) or (1, c, 1, 1), without forming a * b."""
    spec = "nc,nc->c" if a.ndim == 2 else "nchw,nchw->c"
    return _per_channel(get_array_module(a).einsum(spec, a, b), a.ndim)


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
        self.centred, y = xp.empty_like(x), xp.empty_like(x)                 # centred: kept for backward

        def normalize(part):  # channels `part` alone: every statistic is per channel
            xs, centred = x[:, part], self.centred[:, part]
            self.mean[:, part] = xs.mean(axis=_axes(x), keepdims=True)
            xp.subtract(xs, self.mean[:, part], out=centred)
            self.var[:, part] = _channel_dot(centred, centred) / m          # biased, for normalizing
            scale = _per_channel(gamma[part], x.ndim) / xp.sqrt(self.var[:, part] + x.dtype.type(self.eps))
            xp.multiply(centred, scale, out=y[:, part])
            y[:, part] += _per_channel(beta[part], x.ndim)
        kernels.over_channels(x, normalize, x.shape[1])
        self.invstd = 1 / xp.sqrt(self.var + x.dtype.type(self.eps))
        return y

    def backward(self, gy):
        x, gamma, _ = self.inputs
        if not is_grad_enabled():
            gx, ggamma, gbeta = _batch_norm_grad(gy.data, self.centred, self.invstd, gamma.data)
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


def _batch_norm_grad(gy, centred, invstd, gamma):
    """The closed form above on raw arrays, with xhat = centred * invstd folded into per-channel factors."""
    xp = get_array_module(gy)
    m = centred.dtype.type(centred.size // centred.shape[1])
    gx = xp.empty_like(centred)
    gbeta, ggamma = xp.empty(gamma.shape, gy.dtype), xp.empty(gamma.shape, gy.dtype)

    def differentiate(part):  # channels `part` alone
        g, c, s = gy[:, part], centred[:, part], invstd[:, part]
        beta_sum = g.sum(axis=_axes(g), keepdims=True)
        gamma_sum = _channel_dot(g, c) * s
        xp.multiply(c, s * gamma_sum / m, out=gx[:, part])             # xhat * ggamma / m
        gx[:, part] += beta_sum / m
        xp.subtract(g, gx[:, part], out=gx[:, part])                    # gy - (xhat * ggamma + gbeta) / m
        gx[:, part] *= _per_channel(gamma[part], g.ndim) * s
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
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ValueError(f"batch_norm: {name} has shape {t.shape}, expected ({c},) for input {x.shape}")
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"batch_norm: {name} dtype {t.dtype} differs from input dtype {x.dtype}")
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
    f.mean = f.var = None  # only the centred input and invstd are needed by backward
    return y
