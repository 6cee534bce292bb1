"""Spectral normalization against torch.nn.utils.parametrizations.spectral_norm: the same sigma, the same
power-iteration vectors, the same outputs and gradients (first and second order); finite differences; and
u and v kept in the state dict."""
import numpy
import pytest

import minigan
from minigan import nn
from tests.support import import_torch, leaf

LAYERS = {
    "linear": (lambda: nn.Linear(6, 4), lambda t: t.nn.Linear(6, 4), (5, 6)),
    "conv": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), lambda t: t.nn.Conv2d(2, 3, 3, stride=2, padding=1),
             (2, 2, 5, 5)),
}


def twins(kind):
    """(ours, theirs): the same float64 layer with spectral norm, sharing the weight, the bias, u and v."""
    torch = import_torch()
    make_ours, make_theirs, shape = LAYERS[kind]
    minigan.manual_seed(0)
    ours = nn.spectral_norm(make_ours().double())
    theirs = torch.nn.utils.parametrizations.spectral_norm(make_theirs(torch).double())
    with torch.no_grad():
        theirs.parametrizations.weight.original.copy_(torch.tensor(ours.layer.weight.numpy()))
        theirs.bias.copy_(torch.tensor(ours.layer.bias.numpy()))
        theirs.parametrizations.weight[0]._u.copy_(torch.tensor(ours.u.numpy()))
        theirs.parametrizations.weight[0]._v.copy_(torch.tensor(ours.v.numpy()))
    return torch, ours, theirs, shape


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_matches_torch_over_three_training_calls_and_in_eval(kind):
    torch, ours, theirs, shape = twins(kind)
    rng = numpy.random.default_rng(1)
    for mode in ("train", "train", "train", "eval"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = rng.standard_normal(shape)
        ox, tx = leaf(x), torch.tensor(x, requires_grad=True)
        y, ty = ours(ox), theirs(tx)
        numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        sn = theirs.parametrizations.weight[0]
        numpy.testing.assert_allclose(ours.u.numpy(), sn._u.numpy(), rtol=1e-10, atol=1e-12)
        numpy.testing.assert_allclose(ours.v.numpy(), sn._v.numpy(), rtol=1e-10, atol=1e-12)
        # backward, and the second derivative of the input gradient's squared norm (what a penalty needs)
        gy = rng.standard_normal(y.shape)
        W, tW = ours.layer.weight, theirs.parametrizations.weight.original
        gx, gW = minigan.grad(y, [ox, W], leaf(gy, requires_grad=False), create_graph=True)
        tgx, tgW = torch.autograd.grad(ty, [tx, tW], torch.tensor(gy), create_graph=True)
        numpy.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=1e-10, atol=1e-12)
        numpy.testing.assert_allclose(gW.numpy(), tgW.detach().numpy(), rtol=1e-10, atol=1e-12)
        (ggW,) = minigan.grad((gx * gx).sum(), [W])
        (tggW,) = torch.autograd.grad((tgx * tgx).sum(), [tW])
        numpy.testing.assert_allclose(ggW.numpy(), tggW.numpy(), rtol=1e-9, atol=1e-12)
    # the estimate is the weight's largest singular value
    W_mat = ours.layer.weight.numpy().reshape(ours.layer.weight.shape[0], -1)
    sigma = ours.u.numpy() @ W_mat @ ours.v.numpy()
    assert sigma == pytest.approx(numpy.linalg.svd(W_mat, compute_uv=False)[0], rel=1e-6)


@pytest.mark.parametrize("shape", [(4, 6), (3, 2, 3, 3)], ids=["matrix", "conv-weight"])
def test_normalized_weight_gradients_match_finite_differences(shape):
    rng = numpy.random.default_rng(0)
    W = leaf(rng.standard_normal(shape))
    u, v = (minigan.tensor(rng.standard_normal(n)) for n in (shape[0], int(numpy.prod(shape[1:]))))
    f = lambda W: nn.spectral_norm_weight(W, u, v)  # noqa: E731
    assert minigan.gradcheck(f, [W])
    assert minigan.gradgradcheck(f, [W])


def test_u_and_v_are_state_and_a_reloaded_layer_continues_the_same_iteration():
    minigan.manual_seed(0)
    layer = nn.spectral_norm(nn.Conv2d(2, 3, 3))
    assert set(layer.state_dict()) == {"layer.weight", "layer.bias", "u", "v"}
    x = minigan.randn(2, 2, 5, 5)
    layer(x)
    copy = nn.spectral_norm(nn.Conv2d(2, 3, 3))
    copy.load_state_dict(layer.state_dict())
    numpy.testing.assert_array_equal(layer(x).numpy(), copy(x).numpy())
    numpy.testing.assert_array_equal(layer.u.numpy(), copy.u.numpy())


def test_spectral_norm_refuses_what_it_cannot_normalize():
    with pytest.raises(TypeError, match="expected a Linear or a Conv2d layer, got BatchNorm2d"):
        nn.spectral_norm(nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match="n_power_iterations must be a whole number, 1 or more, got 0"):
        nn.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
