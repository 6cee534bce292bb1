"""Spectral normalization (Miyato et al., 2018), as torch.nn.utils.parametrizations.spectral_norm.

A layer's weight W, seen as the matrix W_mat of shape (out, in * kh * kw), is divided by its largest singular
value sigma, so the layer's map changes its input by at most a factor of 1 (it is 1-Lipschitz). sigma is
estimated by power iteration, with a left vector u (out,) and a right vector v (in * kh * kw,) kept from one
call to the next, so one step per forward pass is enough to follow W as training moves it:

    in training, each forward:  u = normalize(W_mat v),  v = normalize(W_mat.T u)    (no gradient)
    sigma = u . (W_mat v),      and the layer runs with W / sigma

u and v are constants of the graph; the gradient reaches W both directly and through sigma, whose own
gradient is d sigma / d W_mat = u v^T. Both are built from differentiable ops, so a gradient penalty's
second derivative passes through them too.
"""
from minigan import backend, ops
from minigan.autograd.tensor import Tensor
from minigan.creation import randn
from minigan.nn.layers import Conv2d, Linear
from minigan.nn.module import Module


class SpectralNorm(Module):
    """`layer` (a Linear or a Conv2d) with its weight divided by the weight's largest singular value.
    The buffers u and v are in the state dict, so a resumed run continues the same power iteration."""

    def __init__(self, layer, n_power_iterations=1, eps=1e-12):
        super().__init__()
        if not isinstance(layer, (Linear, Conv2d)):
            raise TypeError(f"SpectralNorm: expected a Linear or a Conv2d layer, got {type(layer).__name__}")
        if type(n_power_iterations) is not int or n_power_iterations < 1:
            raise ValueError(f"SpectralNorm: n_power_iterations must be a whole number, 1 or more, "
                             f"got {n_power_iterations!r}")
        self.layer, self.n_power_iterations, self.eps = layer, n_power_iterations, eps
        W = self._matrix(layer.weight.data)
        u, v = (randn(n, dtype=W.dtype, device=layer.weight.device).data for n in W.shape)
        self.register_buffer("u", Tensor(u / max(float(backend.get_array_module(u).linalg.norm(u)), eps)))
        self.register_buffer("v", Tensor(v / max(float(backend.get_array_module(v).linalg.norm(v)), eps)))
        self._power_iteration(W, 15)   # start from good estimates, as torch does

    @staticmethod
    def _matrix(weight):
        return weight.reshape(weight.shape[0], -1)

    def _power_iteration(self, W, steps):
        """`steps` steps of the power method on the raw matrix W, updating u and v in place."""
        xp = backend.get_array_module(W)
        u, v = self.u.data, self.v.data
        for _ in range(steps):
            u[...] = W @ v
            u /= max(float(xp.linalg.norm(u)), self.eps)
            v[...] = W.T @ u
            v /= max(float(xp.linalg.norm(v)), self.eps)
        self.u.mark_modified()
        self.v.mark_modified()

    def forward(self, x):
        if self.training:
            self._power_iteration(self._matrix(self.layer.weight.data), self.n_power_iterations)
        # copies of u and v: the next forward updates them in place, and this graph keeps the values it used
        u, v = Tensor(self.u.data.copy()), Tensor(self.v.data.copy())
        return self.layer(x, weight=spectral_norm_weight(self.layer.weight, u, v))

    def extra_repr(self):
        return f"n_power_iterations={self.n_power_iterations}"


def spectral_norm_weight(weight, u, v):
    """weight / sigma with sigma = u . (W_mat v), W_mat the weight as an (out, rest) matrix; u and v are
    constants. Differentiable in `weight` to any order."""
    W_mat = ops.reshape(weight, (weight.shape[0], -1))
    sigma = ops.reshape(ops.reshape(u, (1, -1)) @ (W_mat @ ops.reshape(v, (-1, 1))), ())
    return weight / sigma


def spectral_norm(layer, n_power_iterations=1, eps=1e-12):
    """`layer` wrapped in SpectralNorm (torch.nn.utils.parametrizations.spectral_norm's name)."""
    return SpectralNorm(layer, n_power_iterations, eps)
