"""batch_norm (training and eval) and the pools: finite differences, second derivatives, and PyTorch."""
import numpy
import pytest
from hypothesis import given, strategies as st

import minigan
from minigan import backend, kernels
from tests.support import cut_over_three_threads, import_torch, leaf

shapes = st.one_of(
    st.tuples(st.integers(2, 4), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
).filter(lambda s: numpy.prod(s) // s[1] >= 2)  # training needs two values per channel


def bn_inputs(shape, seed, dtype=numpy.float64):
    rng = numpy.random.default_rng(seed)
    c = shape[1]
    return (rng.standard_normal(shape).astype(dtype), (1 + 0.5 * rng.standard_normal(c)).astype(dtype),
            rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype),
            (0.5 + rng.random(c)).astype(dtype))


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@given(shape=shapes, seed=st.integers(0, 1000))
def test_batch_norm_gradients_match_finite_differences(shape, seed, training, device):
    x, gamma, beta, mean, var = bn_inputs(shape, seed)
    running = [minigan.tensor(mean, device=device), minigan.tensor(var, device=device)]
    f = lambda x, g, b: minigan.batch_norm(x, *running, g, b, training=training, momentum=0.0)  # noqa: E731
    args = [leaf(a, device) for a in (x, gamma, beta)]
    assert minigan.gradcheck(f, args)
    assert minigan.gradgradcheck(f, args)


@pytest.mark.parametrize("dtype,tol", [(numpy.float64, 1e-10), (numpy.float32, 1e-4)], ids=["float64", "float32"])
@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@given(shape=shapes, seed=st.integers(0, 1000))
def test_batch_norm_matches_torch_including_running_statistics(shape, seed, training, dtype, tol):
    torch = import_torch()
    x, gamma, beta, mean, var = bn_inputs(shape, seed, dtype)
    ours = [leaf(a) for a in (x, gamma, beta)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    rm, rv = minigan.tensor(mean), minigan.tensor(var)
    trm, trv = torch.tensor(mean), torch.tensor(var)
    y = minigan.batch_norm(ours[0], rm, rv, ours[1], ours[2], training, momentum=0.3, eps=1e-3)
    ty = torch.nn.functional.batch_norm(theirs[0], trm, trv, theirs[1], theirs[2], training, momentum=0.3, eps=1e-3)
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    numpy.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=tol, atol=tol)
    numpy.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=tol, atol=tol)
    v = numpy.random.default_rng(seed + 1).standard_normal(shape).astype(dtype)
    g = minigan.grad(y, ours, minigan.tensor(v), create_graph=True)
    tg = torch.autograd.grad(ty, theirs, torch.tensor(v), create_graph=True)
    for a, b in zip(g, tg):
        numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)
    s = sum((gi * gi).sum() for gi in g)
    ts = sum((gi * gi).sum() for gi in tg)
    for a, b in zip(minigan.grad(s, ours, allow_unused=True), torch.autograd.grad(ts, theirs, allow_unused=True)):
        a = 0 if a is None else a.numpy()
        b = 0 if b is None else b.detach().numpy()
        numpy.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2, 5)])
def test_channel_dot_sums_the_products_of_each_channel(shape, device):
    """Batch norm's per-channel sums (a kernel: einsum in NumPy, a reduction in CUDA), in the layouts it
    meets: row-major, and activations stored channel-first with the batch axis last."""
    rng = numpy.random.default_rng(0)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    expected = (a * b).sum(axis=(0,) + tuple(range(2, len(shape))))
    xp = backend.array_module_for(device)
    order = tuple(range(1, len(shape))) + (0,)                         # (c, h, w, n) or (c, n) in memory
    back = numpy.argsort(order)
    def channels_first(m):
        return xp.ascontiguousarray(xp.asarray(m).transpose(order)).transpose(back)
    for layout in (xp.asarray, channels_first):
        total = kernels.channel_dot(layout(a), layout(b))
        assert total.shape == (shape[1],)
        numpy.testing.assert_allclose(backend.as_numpy(total), expected, rtol=1e-12)


def test_batch_norm_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\(n, c\) or \(n, c, h, w\), got shape \(2, 3, 4\)"):
        minigan.batch_norm(minigan.ones(2, 3, 4), None, None, training=True)
    with pytest.raises(ValueError, match="more than one value per channel"):
        minigan.batch_norm(minigan.ones(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        minigan.batch_norm(minigan.ones(4, 3), None, None, minigan.ones(2), training=True)


def test_layer_norm_normalizes_each_sample_alone_and_refuses_bad_shapes():
    x = minigan.tensor(numpy.random.default_rng(0).standard_normal((4, 3, 2, 2)))
    y = minigan.nn.LayerNorm((3, 2, 2)).double()(x).numpy()
    numpy.testing.assert_allclose(y.reshape(4, -1).mean(1), 0, atol=1e-12)
    numpy.testing.assert_allclose(y.reshape(4, -1).var(1), 1, rtol=1e-4)   # 1 / (1 + eps / var)
    # one sample changed leaves the others' outputs as they were (what a per-sample penalty relies on)
    x.data[0] *= 3
    numpy.testing.assert_array_equal(minigan.layer_norm(x, (3, 2, 2)).numpy()[1:], minigan.layer_norm(
        minigan.tensor(x.numpy()[1:]), (3, 2, 2)).numpy())
    with pytest.raises(ValueError, match=r"normalized_shape \(3,\) must be the last axes of the input, got input "
                                         r"shape \(4, 3, 2, 2\)"):
        minigan.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3, 2, 2\)"):
        minigan.layer_norm(x, (3, 2, 2), minigan.ones(2, dtype="float64"))


pool_configs = st.tuples(
    st.integers(1, 2), st.integers(1, 2), st.integers(2, 6), st.integers(2, 6),  # n, c, h, w
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),                    # kh, kw, stride
).flatmap(lambda t: st.tuples(st.just(t), st.integers(0, min(t[4], t[5]) // 2))).filter(
    lambda tp: tp[0][2] + 2 * tp[1] >= tp[0][4] and tp[0][3] + 2 * tp[1] >= tp[0][5])


def pool_input(cfg, seed):
    (n, c, h, w, *_), _ = cfg
    rng = numpy.random.default_rng(seed)
    return rng.permutation(n * c * h * w).reshape(n, c, h, w) * 0.1 + 0.01 * rng.standard_normal((n, c, h, w))


POOLS = {"max_pool2d": lambda m: m.max_pool2d, "avg_pool2d": lambda m: m.avg_pool2d}


@pytest.mark.parametrize("pool", POOLS)
@given(cfg=pool_configs, seed=st.integers(0, 1000))
def test_pool_gradients_match_finite_differences(pool, cfg, seed, device):
    (_, _, _, _, kh, kw, s), p = cfg
    f = lambda x: POOLS[pool](minigan)(x, (kh, kw), s, p)  # noqa: E731
    x = leaf(pool_input(cfg, seed), device)  # distinct values: no ties inside a window
    assert minigan.gradcheck(f, [x], eps=1e-7)
    assert minigan.gradgradcheck(f, [x], eps=1e-7)


@pytest.mark.parametrize("pool", POOLS)
@given(cfg=pool_configs, seed=st.integers(0, 1000))
def test_pool_matches_torch(pool, cfg, seed):
    torch = import_torch()
    (_, _, _, _, kh, kw, s), p = cfg
    x = pool_input(cfg, seed)
    ours, theirs = leaf(x), torch.tensor(x, requires_grad=True)
    y = POOLS[pool](minigan)(ours, (kh, kw), s, p)
    ty = POOLS[pool](torch.nn.functional)(theirs, (kh, kw), s, p)
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    v = numpy.random.default_rng(seed).standard_normal(y.shape)
    (g,) = minigan.grad(y, ours, minigan.tensor(v), create_graph=True)
    (tg,) = torch.autograd.grad(ty, theirs, torch.tensor(v), create_graph=True)
    numpy.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-12)
    # double backward: differentiate sum(g * w * x) with respect to x again, which goes back through the
    # graph that built the gradient g (the scatter of max pooling, the transposed convolution of averaging)
    w = numpy.random.default_rng(seed + 1).standard_normal(x.shape)
    (gg,) = minigan.grad((g * minigan.tensor(w) * ours).sum(), ours)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(w) * theirs).sum(), theirs)
    numpy.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-12, atol=1e-12)


@given(cfg=pool_configs, seed=st.integers(0, 1000), ties=st.booleans())
def test_max_pool_without_a_gradient_gives_the_gather_s_numbers(cfg, seed, ties):
    """Where no gradient is asked for, max pooling takes each window's maximum instead of gathering its winner:
    the same numbers, ties, infinities and nan included, in the same memory layout."""
    (_, _, _, _, kh, kw, s), p = cfg
    x = pool_input(cfg, seed)
    if ties:   # whole windows of one value, a nan and an infinity
        x = numpy.round(x)
        x.flat[seed % x.size] = numpy.nan
        x.flat[(3 * seed + 1) % x.size] = -numpy.inf
    graphed = minigan.max_pool2d(leaf(x), (kh, kw), s, p)
    with minigan.no_grad():
        plain = minigan.max_pool2d(minigan.tensor(x), (kh, kw), s, p)
    untracked = minigan.max_pool2d(minigan.tensor(x), (kh, kw), s, p)   # grad enabled, input without one
    assert graphed.requires_grad and not plain.requires_grad and not untracked.requires_grad
    for y in (plain, untracked):
        numpy.testing.assert_array_equal(y.numpy(), graphed.numpy())
        assert y.data.strides == graphed.data.strides


def test_pools_refuse_bad_input():
    with pytest.raises(ValueError, match="input must be 4-D"):
        minigan.max_pool2d(minigan.ones(3, 4, 4), 2)
    with pytest.raises(ValueError, match="padding .* at most half the kernel"):
        minigan.avg_pool2d(minigan.ones(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="too small"):
        minigan.max_pool2d(minigan.ones(1, 1, 2, 2), 3)


@pytest.mark.parametrize("shape", [(6, 5), (4, 7, 3, 3)])
def test_batch_norm_cut_over_three_threads_gives_the_same_numbers(shape):
    """Batch norm works on slices of channels, cut over the cores; cut into three (some slices one channel
    wide), with no size under which it stays whole, forward and backward must give exactly what they give
    uncut."""
    rng = numpy.random.default_rng(0)
    x0, gy = rng.standard_normal(shape).astype(numpy.float32), rng.standard_normal(shape).astype(numpy.float32)
    gamma0 = rng.standard_normal(shape[1]).astype(numpy.float32)

    def run():
        x, gamma = minigan.tensor(x0, requires_grad=True), minigan.tensor(gamma0, requires_grad=True)
        beta = minigan.zeros(shape[1], requires_grad=True)
        y = minigan.batch_norm(x, None, None, gamma, beta, training=True)
        y.backward(minigan.tensor(gy))
        return [t.numpy() for t in (y, x.grad, gamma.grad, beta.grad)]
    whole = run()
    with cut_over_three_threads():
        cut = run()
    for got, expected in zip(cut, whole):
        numpy.testing.assert_array_equal(got, expected)


def test_batch_norm_keeps_nothing_of_the_inputs_size_for_its_backward():
    """The forward keeps the per-channel mean and invstd; the backward makes the centred input again from the
    input (which the graph holds anyway), so a training network holds one array fewer per batch norm."""
    x = minigan.randn(4, 3, 5, 5, requires_grad=True)
    y = minigan.batch_norm(x, None, None, training=True)
    kept = [name for name, value in vars(y.creator).items() if getattr(value, "size", 0) >= x.data.size]
    assert kept == []


@pytest.mark.parametrize("op, torch_op", [
    (minigan.relu, lambda t, x: t.relu(x)),
    (lambda x: minigan.leaky_relu(x, 0.2), lambda t, x: t.nn.functional.leaky_relu(x, 0.2)),
    (lambda x: minigan.leaky_relu(x, 1.5), lambda t, x: t.nn.functional.leaky_relu(x, 1.5)),
])
@pytest.mark.parametrize("shape", [(5, 7), (3, 5, 4, 2)])
def test_rectifiers_cut_over_three_threads_give_the_same_numbers_as_torch(op, torch_op, shape):
    """ReLU and leaky ReLU work on slices of axis 1, cut over the cores: cut into three, on an activation laid out
    as the convolutions leave it ((c, h, w, n) in memory), forward and backward equal the uncut numbers and
    PyTorch's, exactly (each output is x, slope * x or 0; each gradient gy, slope * gy or 0)."""
    torch = import_torch()
    rng = numpy.random.default_rng(1)
    x0 = numpy.moveaxis(rng.standard_normal(shape[1:] + shape[:1]).astype(numpy.float32), -1, 0)
    x0[(0,) * len(shape)] = 0.0                                  # the kink itself: gradient 0 or slope, as torch
    gy = rng.standard_normal(shape).astype(numpy.float32)

    def run():
        x = minigan.tensor(x0, requires_grad=True)
        y = op(x)
        y.backward(minigan.tensor(gy))
        return y.numpy(), x.grad.numpy()
    whole = run()
    with cut_over_three_threads():
        cut = run()
    xt = torch.tensor(x0, requires_grad=True)
    yt = torch_op(torch, xt)
    yt.backward(torch.tensor(gy))
    for got, uncut, expected in zip(cut, whole, (yt.detach().numpy(), xt.grad.numpy())):
        numpy.testing.assert_array_equal(got, uncut)
        numpy.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_a_rectifiers_scale_made_under_create_graph_serves_the_next_walk(slope, monkeypatch):
    """A penalty walks the critic's graph twice, grad() with create_graph and then the loss's backward: the
    rectifier's scale (1 or slope) is made on the first walk and read again on the second, which gives the
    gradient a fresh rectifier gives, and then lets it go. Changing the input between the walks is refused."""
    from minigan.ops import elementwise
    made, scale_of = [], elementwise._rectifier_scale
    monkeypatch.setattr(elementwise, "_rectifier_scale", lambda *args: made.append(1) or scale_of(*args))
    rng = numpy.random.default_rng(0)
    x0, c, e = (rng.standard_normal((3, 4, 5, 2)) for _ in range(3))

    def walks(change_between=False):
        x = minigan.tensor(x0, requires_grad=True)
        y = minigan.leaky_relu(x, slope)
        (g,) = minigan.grad(minigan.sum(y * minigan.tensor(c)), [x], create_graph=True)
        if change_between:
            with minigan.no_grad():
                x.data += 1.0
                x.mark_modified()
        minigan.sum(g * g + y * minigan.tensor(e)).backward()
        return x.grad.numpy(), y.creator
    grad, rectifier = walks()
    scale = numpy.where(x0 > 0, 1.0, slope)
    numpy.testing.assert_array_equal(grad, e * scale)   # g = c * scale does not depend on x
    assert len(made) == 1 and rectifier.scale is None
    with pytest.raises(RuntimeError, match="modified in place"):
        walks(change_between=True)


@pytest.mark.parametrize("out_layout", ["like x", "every other number"])
@pytest.mark.parametrize("layout", ["c order", "(c, h, w, n) in memory", "every other column", "reversed", "0-d"])
def test_the_rectifiers_maximum_gives_numpys_numbers_in_any_layout(layout, out_layout):
    """kernels.maximum_with lays the number out as a row of x's innermost run in memory (NumPy's vectorized
    maximum takes two arrays); in every layout it must give numpy.maximum's bits, nan and -0.0 included, and
    write into `out` itself, not into a copy."""
    rng = numpy.random.default_rng(0)
    base = rng.standard_normal((4, 3, 5, 6)).astype(numpy.float32)
    base.reshape(-1)[:3] = [numpy.nan, -0.0, 0.0]
    x = {"c order": base, "(c, h, w, n) in memory": base.transpose(1, 2, 3, 0).copy().transpose(3, 0, 1, 2),
         "every other column": base[..., ::2], "reversed": base[::-1, :, ::-1], "0-d": base[0, 0, 0, 3]}[layout]
    x = numpy.asarray(x)
    out = numpy.empty_like(x) if out_layout == "like x" else numpy.empty(x.shape + (2,), x.dtype)[..., 1]
    kernels.maximum_with(x, 0, out)
    numpy.testing.assert_array_equal(out.view(numpy.int32), numpy.maximum(x, numpy.float32(0)).view(numpy.int32))
