"""At their kinks the piecewise ops follow torch's conventions (where finite differences say nothing)."""
import numpy
import pytest

import minigan
from tests.support import import_torch, leaf

torch = import_torch()
F = torch.nn.functional

POINTS = numpy.array([-1.0, -0.5, 0.0, 0.5, 1.0])

KINKED = {
    "relu": (minigan.relu, torch.relu),
    "abs": (minigan.abs, torch.abs),
    "leaky_relu": (lambda x: minigan.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    "clamp_at_bounds": (lambda x: minigan.clamp(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5)),
    "clamp_min_only": (lambda x: minigan.clamp(x, min=0.0), lambda x: torch.clamp(x, min=0.0)),
    "maximum_tie": (lambda x: minigan.maximum(x, x * 0), lambda x: torch.maximum(x, x * 0)),
    "minimum_tie": (lambda x: minigan.minimum(x, x * 0), lambda x: torch.minimum(x, x * 0)),
    "amax_of_equal_values": (lambda x: (x * 0 + 2).amax() + x.abs().amax(),
                             lambda x: (x * 0 + 2).amax() + x.abs().amax()),
    "max_of_equal_values": (lambda x: (x * 0 + 2).max() + x.abs().max(),
                            lambda x: (x * 0 + 2).max() + x.abs().max()),
}


@pytest.mark.parametrize("name", KINKED)
def test_gradient_at_kinks_follows_torch(name):
    ours, theirs = KINKED[name]
    x = leaf(POINTS)
    t = torch.tensor(POINTS, requires_grad=True)
    ours(x).sum().backward()
    theirs(t).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=0, atol=1e-15)


def test_amax_shares_the_gradient_among_ties_and_max_along_an_axis_gives_it_to_the_index_it_returns():
    values = numpy.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    x, t = leaf(values), torch.tensor(values, requires_grad=True)
    x.amax(1).sum().backward()
    t.amax(1).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    numpy.testing.assert_allclose(x.grad.numpy(), [[0.5, 0, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    for extreme in ("max", "min"):
        x, t = leaf(values), torch.tensor(values, requires_grad=True)
        ours, theirs = getattr(x, extreme)(1), getattr(t, extreme)(1)
        (ours.values * 2).sum().backward()
        (theirs.values * 2).sum().backward()
        assert ours.indices.numpy().tolist() == theirs.indices.numpy().tolist()
        numpy.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
