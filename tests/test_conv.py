"""conv2d, conv_transpose2d and conv2d_weight: finite differences (first and second order), a plain-loop
definition, and PyTorch as the oracle in float64 and float32, over configurations drawn by hypothesis."""
import numpy
import pytest
from hypothesis import given, strategies as st

import minigan
from minigan.kernels import cpu as cpu_kernels
from tests.conv_configs import conv_configs, naive_conv2d, small_conv_configs
from tests.support import cut_over_three_threads, import_torch, leaf


def conv_inputs(cfg, seed, transpose=False, dtype=numpy.float64, bias=False):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((cfg.n, cfg.c) + cfg.size).astype(dtype)
    shape = (cfg.c, cfg.oc // cfg.groups) if transpose else (cfg.oc, cfg.c // cfg.groups)
    W = rng.standard_normal(shape + cfg.kernel).astype(dtype)
    b = rng.standard_normal(cfg.oc).astype(dtype) if bias else None
    return x, W, b


def conv(cfg):
    return lambda x, W, b=None: minigan.conv2d(x, W, b, **cfg.kwargs())


def conv_t(cfg):
    return lambda x, W, b=None: minigan.conv_transpose2d(x, W, b, cfg.stride, cfg.padding, cfg.output_padding,
                                                         cfg.groups, cfg.dilation)


# --------------------------------------------------------------------------- against a loop and finite differences

@given(cfg=conv_configs(), seed=st.integers(0, 1000))
def test_conv2d_forward_matches_the_definition(cfg, seed):
    x, W, _ = conv_inputs(cfg, seed)
    y = minigan.conv2d(minigan.tensor(x), minigan.tensor(W), **cfg.kwargs())
    numpy.testing.assert_allclose(y.numpy(), naive_conv2d(x, W, cfg.stride, cfg.padding, cfg.dilation, cfg.groups),
                                  rtol=1e-12, atol=1e-12)


@given(cfg=conv_configs(), seed=st.integers(0, 1000))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(cfg, seed):
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)> for every x and y of the right shapes."""
    rng = numpy.random.default_rng(seed)
    x, W, _ = conv_inputs(cfg, seed)
    y = rng.standard_normal((cfg.n, cfg.oc) + cfg.conv_out())
    forward = minigan.conv2d(minigan.tensor(x), minigan.tensor(W), **cfg.kwargs()).numpy()
    back = minigan.conv_transpose2d(minigan.tensor(y), minigan.tensor(W), None, cfg.stride, cfg.padding,
                                    tuple(x.shape[2 + i] - ((y.shape[2 + i] - 1) * cfg.stride[i] - 2 * cfg.padding[i]
                                          + cfg.dilation[i] * (cfg.kernel[i] - 1) + 1) for i in range(2)),
                                    cfg.groups, cfg.dilation).numpy()
    assert numpy.vdot(forward, y) == pytest.approx(numpy.vdot(x, back), rel=1e-10, abs=1e-10)


@given(cfg=conv_configs(), seed=st.integers(0, 1000), pad_value=st.sampled_from([0.0, -numpy.inf]))
def test_im2col_and_col2im_cut_over_three_threads_give_the_same_numbers(cfg, seed, pad_value):
    """The NumPy kernels cut their channels into one piece per thread. Cut into three here (some pieces
    empty when there are fewer channels), with no size under which they stay whole, they must give
    exactly what they give uncut."""
    x = numpy.random.default_rng(seed).standard_normal((cfg.n, cfg.c) + cfg.size)

    def both():
        col = cpu_kernels.im2col(x, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, pad_value)
        finite = numpy.where(numpy.isfinite(col), col, 0.0)
        return col, cpu_kernels.col2im(finite, cfg.size, cfg.stride, cfg.padding, cfg.dilation)
    whole = both()
    with cut_over_three_threads():
        cut = both()
    for got, expected in zip(cut, whole):
        numpy.testing.assert_array_equal(got, expected)


def plain_col2im(col, size, stride, padding, dilation):
    """col2im by its definition: a zero image, and every window added onto it in the order of the kernel offsets."""
    c, kh, kw, out_h, out_w, n = col.shape
    image = numpy.zeros((c, size[0] + 2 * padding[0], size[1] + 2 * padding[1], n), col.dtype)
    for i in range(kh):
        for j in range(kw):
            for y in range(out_h):
                for x in range(out_w):
                    image[:, y * stride[0] + i * dilation[0], x * stride[1] + j * dilation[1]] += col[:, i, j, y, x]
    return image[:, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]].transpose(3, 0, 1, 2)


@given(cfg=conv_configs(), seed=st.integers(0, 1000), dtype=st.sampled_from([numpy.float32, numpy.float64]))
def test_col2im_adds_each_pixels_terms_in_the_order_of_the_kernel_offsets(cfg, seed, dtype):
    """col2im gives exactly the sums of its definition, rounding included: where the kernel is a whole number of
    strides it copies each phase's first window and adds the rest, and that must not change a bit."""
    out_h, out_w = cfg.conv_out()
    col = numpy.random.default_rng(seed).standard_normal((cfg.c,) + cfg.kernel + (out_h, out_w, cfg.n)).astype(dtype)
    got = cpu_kernels.col2im(col, cfg.size, cfg.stride, cfg.padding, cfg.dilation)
    numpy.testing.assert_array_equal(got, plain_col2im(col, cfg.size, cfg.stride, cfg.padding, cfg.dilation))


@pytest.mark.parametrize("c, kernel, windows, size", [(8, 4, 7, 14), (3, 4, 14, 28), (5, 2, 6, 12), (4, 6, 5, 12)])
def test_col2im_by_phase_on_the_dcgan_layers(c, kernel, windows, size):
    """The DCGAN's shapes (4 x 4 kernels at stride 2, padding 1), a 2 x 2 and a 6 x 6 kernel at stride 2, float32."""
    col = numpy.random.default_rng(c).standard_normal((c, kernel, kernel, windows, windows, 5)).astype(numpy.float32)
    padding = ((windows - 1) * 2 + kernel - size) // 2
    got = cpu_kernels.col2im(col, (size, size), (2, 2), (padding, padding), (1, 1))
    numpy.testing.assert_array_equal(got, plain_col2im(col, (size, size), (2, 2), (padding, padding), (1, 1)))


def test_col2im_puts_back_the_callers_ufunc_buffer_size():
    """col2im by phase adds with NumPy's ufunc buffers cut to one run of numbers (a multiple of 16, at least 16);
    the calling thread's own setting comes back after it, and after an error inside the block too."""
    before = numpy.getbufsize()
    cpu_kernels.col2im(numpy.ones((2, 4, 4, 7, 7, 3), numpy.float32), (14, 14), (2, 2), (1, 1), (1, 1))
    assert numpy.getbufsize() == before
    for run, size in ((7 * 64, 448), (450, 448), (15, 16)):
        with pytest.raises(ZeroDivisionError):
            with cpu_kernels._unbuffered(run):
                assert numpy.getbufsize() == size
                1 / 0
        assert numpy.getbufsize() == before


def test_im2col_of_a_window_as_large_as_the_image_is_the_image_itself():
    """A 7 x 7 kernel on a 7 x 7 input (the DCGAN's last layer) has one window: its columns are the input itself,
    read in place, whether it lives in the (c, h, w, n) layout or in (n, c, h, w)."""
    in_layout = numpy.random.default_rng(0).standard_normal((3, 7, 7, 5)).transpose(3, 0, 1, 2)  # (n, c, h, w)
    for x in (in_layout, numpy.ascontiguousarray(in_layout)):
        col = cpu_kernels.im2col(x, (7, 7), (1, 1), (0, 0), (1, 1))
        assert col.shape == (3, 7, 7, 1, 1, 5)
        numpy.testing.assert_array_equal(col[:, :, :, 0, 0], x.transpose(1, 2, 3, 0))
        assert numpy.shares_memory(col, x)


@given(cfg=small_conv_configs(), seed=st.integers(0, 1000), bias=st.booleans())
def test_conv2d_gradients_match_finite_differences(cfg, seed, bias, device):
    x, W, b = conv_inputs(cfg, seed, bias=bias)
    args = [leaf(a, device) for a in (x, W, b) if a is not None]
    assert minigan.gradcheck(conv(cfg), args)
    assert minigan.gradgradcheck(conv(cfg), args)


@given(cfg=small_conv_configs(), seed=st.integers(0, 1000), bias=st.booleans())
def test_conv_transpose2d_gradients_match_finite_differences(cfg, seed, bias, device):
    x, W, b = conv_inputs(cfg, seed, transpose=True, bias=bias)
    args = [leaf(a, device) for a in (x, W, b) if a is not None]
    assert minigan.gradcheck(conv_t(cfg), args)
    assert minigan.gradgradcheck(conv_t(cfg), args)


@given(cfg=small_conv_configs(), seed=st.integers(0, 1000))
def test_conv2d_weight_gradients_match_finite_differences(cfg, seed, device):
    x, W, _ = conv_inputs(cfg, seed)
    gy = numpy.random.default_rng(seed + 1).standard_normal((cfg.n, cfg.oc) + cfg.conv_out())
    f = lambda x, gy: minigan.conv2d_weight(x, gy, W.shape, **cfg.kwargs())  # noqa: E731
    args = [leaf(x, device), leaf(gy, device)]
    assert minigan.gradcheck(f, args)
    assert minigan.gradgradcheck(f, args)


# --------------------------------------------------------------------------- against PyTorch

def _torch_compare(ours, theirs, arrays, rtol, atol):
    """Forward, backward and double backward (through <grads, w>) of ours and theirs on the same arrays."""
    torch = import_torch()
    rng = numpy.random.default_rng(0)
    xs = [leaf(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = ours(*xs), theirs(*ts)
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    v = rng.standard_normal(y.shape).astype(arrays[0].dtype)
    g = minigan.grad(y, xs, minigan.tensor(v), create_graph=True)
    tg = torch.autograd.grad(ty, ts, torch.tensor(v), create_graph=True)
    for i, (a, b) in enumerate(zip(g, tg)):
        numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"grad {i}")
    ws = [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]
    s = sum((gi * minigan.tensor(w)).sum() for gi, w in zip(g, ws))
    ts_ = sum((gi * torch.tensor(w)).sum() for gi, w in zip(tg, ws))
    gg = minigan.grad(s, xs, allow_unused=True)
    tgg = torch.autograd.grad(ts_, ts, allow_unused=True)
    for i, (a, b) in enumerate(zip(gg, tgg)):
        a = numpy.zeros(arrays[i].shape) if a is None else a.numpy()
        b = numpy.zeros(arrays[i].shape) if b is None else b.detach().numpy()
        numpy.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"double backward {i}")


PRECISIONS = [pytest.param(numpy.float64, 1e-10, 1e-10, id="float64"),
              pytest.param(numpy.float32, 1e-4, 1e-4, id="float32")]


@pytest.mark.parametrize("dtype,rtol,atol", PRECISIONS)
@given(cfg=conv_configs(), seed=st.integers(0, 1000), bias=st.booleans())
def test_conv2d_matches_torch(cfg, seed, bias, dtype, rtol, atol):
    torch = import_torch()
    x, W, b = conv_inputs(cfg, seed, dtype=dtype, bias=bias)
    arrays = [a for a in (x, W, b) if a is not None]
    _torch_compare(conv(cfg), lambda x, W, b=None: torch.nn.functional.conv2d(x, W, b, **cfg.kwargs()),
                   arrays, rtol, atol * 10 if dtype == numpy.float32 else atol)


@pytest.mark.parametrize("dtype,rtol,atol", PRECISIONS)
@given(cfg=conv_configs(), seed=st.integers(0, 1000), bias=st.booleans())
def test_conv_transpose2d_matches_torch_with_output_padding_and_dilation(cfg, seed, bias, dtype, rtol, atol):
    torch = import_torch()
    x, W, b = conv_inputs(cfg, seed, transpose=True, dtype=dtype, bias=bias)
    arrays = [a for a in (x, W, b) if a is not None]
    theirs = lambda x, W, b=None: torch.nn.functional.conv_transpose2d(  # noqa: E731
        x, W, b, cfg.stride, cfg.padding, cfg.output_padding, cfg.groups, cfg.dilation)
    _torch_compare(conv_t(cfg), theirs, arrays, rtol, atol * 10 if dtype == numpy.float32 else atol)


@given(cfg=conv_configs(), seed=st.integers(0, 1000))
def test_conv2d_weight_matches_torch(cfg, seed):
    torch = import_torch()
    x, W, _ = conv_inputs(cfg, seed)
    gy = numpy.random.default_rng(seed).standard_normal((cfg.n, cfg.oc) + cfg.conv_out())
    ours = lambda x, gy: minigan.conv2d_weight(x, gy, W.shape, **cfg.kwargs())  # noqa: E731
    theirs = lambda x, gy: torch.nn.grad.conv2d_weight(x, W.shape, gy, **cfg.kwargs())  # noqa: E731
    _torch_compare(ours, theirs, [x, gy], 1e-10, 1e-10)


def test_float32_stays_float32_through_conv_and_its_gradients():
    x = leaf(numpy.ones((2, 3, 8, 8), dtype=numpy.float32))
    W = leaf(numpy.ones((4, 3, 3, 3), dtype=numpy.float32))
    Wt = leaf(numpy.ones((4, 2, 4, 4), dtype=numpy.float32))
    y = minigan.conv_transpose2d(minigan.conv2d(x, W, stride=2, padding=1), Wt, stride=2, padding=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == W.grad.dtype == Wt.grad.dtype == numpy.float32


# --------------------------------------------------------------------------- bad configurations

@pytest.mark.parametrize("call,match", [
    (lambda: minigan.conv2d(minigan.ones(1, 1, 3, 3), minigan.ones(1, 1, 5, 5)), r"too small .* output size would be \(-1, -1\)"),
    (lambda: minigan.conv_transpose2d(minigan.ones(1, 1, 3, 3), minigan.ones(1, 1, 3, 3), stride=2, output_padding=2),
     r"output_padding \(2, 2\) must be smaller than stride \(2, 2\) or dilation"),
    (lambda: minigan.conv2d(minigan.ones(1, 3, 8, 8), minigan.ones(4, 2, 3, 3)),
     r"input has 3 channels .* weight \(4, 2, 3, 3\) with groups=1 expects 2"),
    (lambda: minigan.conv2d(minigan.ones(1, 4, 8, 8), minigan.ones(3, 2, 3, 3), groups=2),
     r"groups=2 must divide both in_channels=4 and out_channels=3"),
    (lambda: minigan.conv2d(minigan.ones(3, 8, 8), minigan.ones(4, 3, 3, 3)), r"input must be 4-D .* \(3, 8, 8\)"),
    (lambda: minigan.conv_transpose2d(minigan.ones(3, 8, 8), minigan.ones(3, 4, 3, 3)), r"input must be 4-D"),
    (lambda: minigan.conv2d(minigan.ones(1, 1, 8, 8), minigan.ones(1, 1, 3, 3), stride=0), r"stride must be at least 1"),
    (lambda: minigan.conv2d(minigan.ones(1, 1, 8, 8), minigan.ones(1, 1, 3, 3), padding=-1), r"padding must be at least 0"),
    (lambda: minigan.conv2d(minigan.ones(1, 1, 8, 8), minigan.ones(1, 1, 3, 3), minigan.ones(2)), r"bias has shape \(2,\)"),
])
def test_bad_configurations_raise_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
