"""Every op of the engine: float64 gradcheck, second-derivative check, and PyTorch as the oracle for
forward, backward and double backward (float64, agreement to 1e-10; float32 to 1e-4 relative)."""
import numpy
import pytest
from hypothesis import given, strategies as st

import minigan
from minigan import backend
from tests.op_specs import SPECS
from tests.support import import_torch, leaf

ids = [s.name for s in SPECS]


def draw_inputs(spec, data, seed, device="cpu", dtype=numpy.float64):
    arrays, kwargs = spec.make(data, numpy.random.default_rng(seed))
    kwargs = {k: backend.to_device(v, device) if isinstance(v, numpy.ndarray) else v for k, v in kwargs.items()}
    return [a.astype(dtype) for a in arrays], kwargs


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_gradient_matches_finite_differences(spec, data, seed, device):
    arrays, kwargs = draw_inputs(spec, data, seed, device)
    xs = [leaf(a, device) for a in arrays]
    assert minigan.gradcheck(lambda *xs: spec.ours(*xs, **kwargs), xs)


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_second_derivative_matches_finite_differences(spec, data, seed, device):
    arrays, kwargs = draw_inputs(spec, data, seed, device)
    xs = [leaf(a, device) for a in arrays]
    assert minigan.gradgradcheck(lambda *xs: spec.ours(*xs, **kwargs), xs)


def _zeros_for_none(grads, arrays):
    return [numpy.zeros(a.shape) if g is None else g.numpy() if isinstance(g, minigan.Tensor) else g.detach().numpy(force=True)
            for g, a in zip(grads, arrays)]


def compare_with_torch(spec, arrays, kwargs, rtol, atol):
    """Forward, backward (with a random upstream gradient v) and double backward (through <grad, w>, with
    respect to the inputs and v) in minigan and in PyTorch, element by element."""
    torch = import_torch()
    rng = numpy.random.default_rng(1)
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = spec.ours(*ours, **kwargs)
    ty = spec.theirs(torch, *theirs, **kwargs)
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    assert y.dtype == ty.detach().numpy().dtype
    v = rng.standard_normal(y.shape).astype(arrays[0].dtype)
    our_v, their_v = leaf(v), torch.tensor(v, requires_grad=True)
    g = minigan.grad(y, ours, our_v, create_graph=True, allow_unused=True)
    tg = torch.autograd.grad(ty, theirs, their_v, create_graph=True, allow_unused=True)
    for i, (a, b) in enumerate(zip(_zeros_for_none(g, arrays), _zeros_for_none(tg, arrays))):
        numpy.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
    ws = [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]
    s = sum((gi * minigan.tensor(w)).sum() for gi, w in zip(g, ws) if gi is not None)
    ts = sum((gi * torch.tensor(w)).sum() for gi, w in zip(tg, ws) if gi is not None)
    gg = minigan.grad(s, ours + [our_v], allow_unused=True) if s.requires_grad else [None] * (len(ours) + 1)
    tgg = torch.autograd.grad(ts, theirs + [their_v], allow_unused=True) if ts.requires_grad else [None] * (len(ours) + 1)
    for i, (a, b) in enumerate(zip(_zeros_for_none(gg, arrays + [v]), _zeros_for_none(tgg, arrays + [v]))):
        numpy.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"second derivative, input {i}")


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_matches_torch_in_float64(spec, data, seed):
    arrays, kwargs = draw_inputs(spec, data, seed)
    compare_with_torch(spec, arrays, kwargs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spec", SPECS, ids=ids)
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_matches_torch_in_float32(spec, data, seed):
    arrays, kwargs = draw_inputs(spec, data, seed, dtype=numpy.float32)
    compare_with_torch(spec, arrays, kwargs, rtol=1e-4, atol=1e-5)
