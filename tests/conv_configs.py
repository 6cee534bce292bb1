"""Hypothesis strategies for convolution configurations, and a plain-loop NumPy convolution to check
the kernels against.

The oracle tests draw from the full ranges of the issue (batch 1-3, channels 1-4, kernel 1-5, stride 1-3,
padding 0-2, dilation 1-2); the finite-difference tests draw from smaller sizes of the same kinds
(each numeric gradient costs two forward passes per input element).
"""
from dataclasses import dataclass

import numpy
from hypothesis import assume, strategies as st


@dataclass
class ConvConfig:
    n: int
    c: int
    oc: int
    groups: int
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    output_padding: tuple
    size: tuple

    def conv_out(self):
        return tuple((self.size[i] + 2 * self.padding[i] - self.dilation[i] * (self.kernel[i] - 1) - 1)
                     // self.stride[i] + 1 for i in range(2))

    def transpose_out(self):
        return tuple((self.size[i] - 1) * self.stride[i] - 2 * self.padding[i] + self.dilation[i] * (self.kernel[i] - 1)
                     + self.output_padding[i] + 1 for i in range(2))

    def kwargs(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)


@st.composite
def conv_configs(draw, max_batch=3, max_channels=4, max_kernel=5, max_size=9):
    pair = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))  # noqa: E731
    groups = draw(st.integers(1, max_channels), label="groups")
    c = groups * draw(st.integers(1, max(1, max_channels // groups)), label="c per group")
    oc = groups * draw(st.integers(1, max(1, max_channels // groups)), label="oc per group")
    kernel, stride = draw(pair(1, max_kernel), label="kernel"), draw(pair(1, 3), label="stride")
    padding, dilation = draw(pair(0, 2), label="padding"), draw(pair(1, 2), label="dilation")
    output_padding = tuple(draw(st.integers(0, max(stride[i], dilation[i]) - 1), label="output_padding")
                           for i in range(2))
    size = draw(pair(1, max_size), label="size")
    config = ConvConfig(draw(st.integers(1, max_batch), label="n"), c, oc, groups, kernel, stride, padding,
                        dilation, output_padding, size)
    assume(min(config.conv_out()) >= 1 and min(config.transpose_out()) >= 1)
    return config


def small_conv_configs():
    return conv_configs(max_batch=2, max_channels=2, max_kernel=3, max_size=5)


def naive_conv2d(x, W, stride, padding, dilation, groups):
    """The definition of a 2-D cross-correlation, one output element at a time."""
    n, c, h, w = x.shape
    oc, cg, kh, kw = W.shape
    xp = numpy.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    out_h = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = numpy.zeros((n, oc, out_h, out_w))
    per_group = oc // groups
    for b in range(n):
        for o in range(oc):
            g = o // per_group
            for i in range(out_h):
                for j in range(out_w):
                    total = 0.0
                    for ci in range(cg):
                        for u in range(kh):
                            for v in range(kw):
                                total += W[o, ci, u, v] * xp[b, g * cg + ci, i * stride[0] + u * dilation[0],
                                                             j * stride[1] + v * dilation[1]]
                    y[b, o, i, j] = total
    return y
