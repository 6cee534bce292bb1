"""The GPU against the CPU: every op's forward and backward, the convolution kernels, the fused Adam, and a
whole reference-DCGAN training step, each computed on both devices from the same numbers. Skipped, with the
reason, where there is no GPU; the gradient checks of the other test files also run on the GPU there."""
import numpy
import pytest
from hypothesis import given, settings, strategies as st

import minigan
from minigan import backend, gan, optim
from tests.conv_configs import conv_configs
from tests.op_specs import SPECS
from tests.test_op_gradients import draw_inputs

pytestmark = pytest.mark.skipif(not minigan.gpu_available(), reason="no CUDA GPU with CuPy on this machine")


def forward_backward(fn, arrays, kwargs, device):
    xs = [minigan.tensor(a, device=device, requires_grad=True) for a in arrays]
    kwargs = {k: backend.to_device(v, device) if isinstance(v, numpy.ndarray) else v for k, v in kwargs.items()}
    y = fn(*xs, **kwargs)
    v = numpy.random.default_rng(0).standard_normal(y.shape).astype(y.dtype)
    grads = minigan.grad(y, xs, minigan.tensor(v, device=device), allow_unused=True)
    assert y.device == device and all(g is None or g.device == device for g in grads)
    return y.numpy(), [None if g is None else g.numpy() for g in grads]


def assert_same(cpu, gpu, tol):
    (y0, g0), (y1, g1) = cpu, gpu
    numpy.testing.assert_allclose(y1, y0, rtol=tol, atol=tol)
    for a, b in zip(g0, g1):
        if a is None or b is None:
            assert a is None and b is None
        else:
            numpy.testing.assert_allclose(b, a, rtol=tol, atol=tol)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_every_op_gives_the_same_numbers_on_gpu_and_cpu(spec, data, seed):
    arrays, kwargs = draw_inputs(spec, data, seed)
    assert_same(forward_backward(spec.ours, arrays, kwargs, "cpu"),
                forward_backward(spec.ours, arrays, kwargs, "cuda"), 1e-10)


@settings(max_examples=25)
@given(cfg=conv_configs(), seed=st.integers(0, 1000), transpose=st.booleans())
def test_convolutions_give_the_same_numbers_on_gpu_and_cpu(cfg, seed, transpose):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((cfg.n, cfg.c) + cfg.size)
    if transpose:
        W = rng.standard_normal((cfg.c, cfg.oc // cfg.groups) + cfg.kernel)
        fn = lambda x, W: minigan.conv_transpose2d(x, W, None, cfg.stride, cfg.padding, cfg.output_padding,  # noqa
                                                   cfg.groups, cfg.dilation)
    else:
        W = rng.standard_normal((cfg.oc, cfg.c // cfg.groups) + cfg.kernel)
        fn = lambda x, W: minigan.conv2d(x, W, **cfg.kwargs())  # noqa: E731
    assert_same(forward_backward(fn, [x, W], {}, "cpu"), forward_backward(fn, [x, W], {}, "cuda"), 1e-10)


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pools_and_batch_norm_give_the_same_numbers_on_gpu_and_cpu(pool):
    x = numpy.random.default_rng(0).permutation(2 * 3 * 9 * 9).reshape(2, 3, 9, 9) * 0.1
    fn = lambda x: getattr(minigan, pool)(x, 3, 2, 1)  # noqa: E731
    assert_same(forward_backward(fn, [x], {}, "cpu"), forward_backward(fn, [x], {}, "cuda"), 1e-12)
    bn = lambda x, g, b: minigan.batch_norm(x, None, None, g, b, training=True)  # noqa: E731
    args = [x, numpy.linspace(0.5, 1.5, 3), numpy.linspace(-1, 1, 3)]
    assert_same(forward_backward(bn, args, {}, "cpu"), forward_backward(bn, args, {}, "cuda"), 1e-10)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_the_fused_adam_kernel_matches_the_cpu_update(amsgrad):
    rng = numpy.random.default_rng(0)
    start = rng.standard_normal((7, 5))
    params, opts = {}, {}
    for d in ("cpu", "cuda"):
        params[d] = minigan.nn.Parameter(minigan.tensor(start, device=d))
        opts[d] = optim.Adam([params[d]], lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=amsgrad)
    for _ in range(20):
        g = rng.standard_normal((7, 5))
        for d in ("cpu", "cuda"):
            params[d].grad = minigan.tensor(g, device=d)
            opts[d].step()
    numpy.testing.assert_allclose(params["cuda"].numpy(), params["cpu"].numpy(), rtol=1e-12, atol=1e-12)


def test_a_whole_reference_dcgan_step_gives_the_same_numbers_on_gpu_and_cpu():
    minigan.manual_seed(0)
    players = {"cpu": gan.build_models(gan.default_config())}
    G, D = gan.build_models(gan.default_config())
    G.load_state_dict(players["cpu"][0].state_dict())
    D.load_state_dict(players["cpu"][1].state_dict())
    players["cuda"] = (G.to("cuda"), D.to("cuda"))
    rng = numpy.random.default_rng(0)
    real = (rng.random((64, 1, 28, 28)) * 2 - 1).astype(numpy.float32)
    z = rng.standard_normal((64, 100)).astype(numpy.float32)
    figures = {}
    for device, (G, D) in players.items():
        # SGD, not Adam: Adam's first step is lr * sign(gradient), so a gradient of nearly 0 can flip sign
        # between devices on float32 rounding alone; SGD moves each parameter in proportion to its gradient.
        opt_G, opt_D = optim.SGD(G.parameters(), lr=0.1), optim.SGD(D.parameters(), lr=0.1)
        batches = iter([(minigan.tensor(real, device=device), None)])
        step = gan.train_step(G, D, opt_G, opt_D, batches, lambda n: minigan.tensor(z, device=device))
        figures[device] = gan.to_numbers(step, 1)
    for name, value in figures["cpu"].items():
        assert figures["cuda"][name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
    for player in (0, 1):
        for (name, p), (_, q) in zip(players["cpu"][player].state_dict().items(),
                                     players["cuda"][player].state_dict().items()):
            numpy.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


def test_mixing_devices_is_refused_and_moving_is_differentiable():
    a = minigan.ones(3, requires_grad=True)
    b = minigan.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="one device"):
        a * b
    y = (a.to("cuda") * b).sum()
    y.backward()
    assert a.grad.device == "cpu" and a.grad.numpy().tolist() == [1.0, 1.0, 1.0]


def test_random_draws_happen_on_the_device():
    minigan.manual_seed(3)
    x = minigan.randn(1000, device="cuda")
    assert x.device == "cuda" and abs(float(x.numpy().mean())) < 0.15
    d = minigan.dropout(minigan.ones(1000, device="cuda"), 0.5)
    assert d.device == "cuda" and 0.4 < float((d.numpy() == 0).mean()) < 0.6
