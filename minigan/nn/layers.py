"""Layers, with torch.nn's constructor arguments, weight layouts and default initialisation."""

import numpy

from minigan import ops
from minigan.nn import init
from minigan.nn.module import Module, Parameter
from minigan.autograd.tensor import Tensor
from minigan.backend import is_int
from minigan.ops.conv import int_pair


def _empty(*shape):
    return numpy.empty(shape, dtype=numpy.float32)


def _check_sizes(layer, **sizes):
    """Refuse, naming it, a size that is not a whole number of at least 1: a layer of no features or channels
    was a ZeroDivisionError from its initialisation, or a shape error at its first call."""
    for name, value in sizes.items():
        if not is_int(value) or value < 1:
            raise ValueError(f"{layer}: {name} must be a whole number, at least 1, got {value!r}")


def _check_geometry(layer, kernel_size, **geometry):
    """The kernel size as a pair, after checking it and the stride, padding and dilation (each an int or a pair)
    as the convolution will, so that a bad one is refused when the layer is built, not at its first call."""
    for name, value in geometry.items():
        int_pair(value, name, layer)
    return int_pair(kernel_size, "kernel_size", layer)


# --------------------------------------------------------------------------- affine and convolution layers

class Linear(Module):
    """y = x @ W.T + b, W of shape (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        _check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_empty(out_features, in_features))
        self.bias = Parameter(_empty(out_features)) if bias else None
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x, weight=None):
        """`weight`, if given, replaces self.weight in this call (how SpectralNorm passes its scaled weight)."""
        return ops.linear(x, self.weight if weight is None else weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution; weight (out_channels, in_channels / groups, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        super().__init__()
        _check_sizes("Conv2d", in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        kernel_size = _check_geometry("Conv2d", kernel_size, stride=stride, padding=padding, dilation=dilation)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.weight = Parameter(_empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = Parameter(_empty(out_channels)) if bias else None
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x, weight=None):
        """`weight`, if given, replaces self.weight in this call (how SpectralNorm passes its scaled weight)."""
        return ops.conv2d(x, self.weight if weight is None else weight, self.bias, self.stride, self.padding,
                          self.dilation, self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")


class ConvTranspose2d(Module):
    """2-D transposed convolution; weight (in_channels, out_channels / groups, kh, kw)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1):
        super().__init__()
        _check_sizes("ConvTranspose2d", in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"ConvTranspose2d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        kernel_size = _check_geometry("ConvTranspose2d", kernel_size, stride=stride, padding=padding,
                                      output_padding=output_padding, dilation=dilation)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.groups, self.dilation = groups, dilation
        self.weight = Parameter(_empty(in_channels, out_channels // groups, *self.kernel_size))
        self.bias = Parameter(_empty(out_channels)) if bias else None
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        return ops.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                    self.groups, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")


# --------------------------------------------------------------------------- normalization

class _BatchNorm(Module):
    _input_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        _check_sizes(type(self).__name__, num_features=num_features)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(numpy.ones(num_features, dtype=numpy.float32)) if affine else None
        self.bias = Parameter(numpy.zeros(num_features, dtype=numpy.float32)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(numpy.zeros(num_features, dtype=numpy.float32)))
            self.register_buffer("running_var", Tensor(numpy.ones(num_features, dtype=numpy.float32)))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        if x.ndim not in self._input_dims:
            raise ValueError(f"{type(self).__name__}: expected a {' or '.join(map(str, self._input_dims))}-D input, "
                             f"got shape {x.shape}")
        use_batch_stats = self.training or not self.track_running_stats
        return ops.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              use_batch_stats, self.momentum, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (n, c) inputs over the batch."""
    _input_dims = (2,)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (n, c, h, w) inputs over the batch and the pixels."""
    _input_dims = (4,)


class LayerNorm(Module):
    """Layer normalization over the last axes, of shape `normalized_shape`, as torch.nn.LayerNorm: weight
    (ones) and bias (zeros) of that shape. Each sample is normalized on its own (ops.layer_norm)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        super().__init__()
        shape = (normalized_shape,) if is_int(normalized_shape) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(numpy.ones(shape, dtype=numpy.float32)) if elementwise_affine else None
        self.bias = Parameter(numpy.zeros(shape, dtype=numpy.float32)) if elementwise_affine else None

    def forward(self, x):
        return ops.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


# --------------------------------------------------------------------------- lookups, regularization, activations

class Embedding(Module):
    """A table of num_embeddings vectors, looked up by integer index; weight ~ N(0, 1) as torch."""

    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        _check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(_empty(num_embeddings, embedding_dim))
        init.normal_(self.weight)

    def forward(self, indices):
        idx = indices.data if isinstance(indices, Tensor) else indices
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            raise IndexError(f"Embedding: indices must be in [0, {self.num_embeddings}), got "
                             f"[{int(idx.min())}, {int(idx.max())}]")
        return self.weight[idx]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return ops.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class ReLU(Module):
    def forward(self, x):
        return ops.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return ops.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return ops.sigmoid(x)


class _Loss(Module):
    """A loss as a module, as torch.nn's: it keeps its `reduction` ("mean", "sum" or "none") and calls its op."""
    loss = None

    def __init__(self, reduction="mean"):
        super().__init__()
        ops.losses.check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def forward(self, input, target):
        return type(self).loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(_Loss):
    loss = staticmethod(ops.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    loss = staticmethod(ops.cross_entropy)


class MSELoss(_Loss):
    loss = staticmethod(ops.mse_loss)


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return ops.flatten(x, self.start_dim, self.end_dim)


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`, as torch.nn.Unflatten."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim
        return ops.reshape(x, x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
