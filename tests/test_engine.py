"""The engine's rules: accumulation, graph freeing, higher-order gradients, no_grad, long graphs, and the
Tensor API."""
import numpy
import pytest

import minigan
from minigan import Function, Tensor
from tests.support import import_torch, leaf


def test_backward_accumulates_until_zeroed():
    x = leaf(numpy.array([1.0, 2.0]))
    (x * x).sum().backward()
    (x * x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    x.zero_grad()
    (3 * x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_a_tensor_used_twice_gets_both_gradients():
    x = leaf(numpy.array(3.0))
    y = x * x + x.exp() * x          # x reaches y along four paths
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 3 + numpy.exp(3) * 4)


def test_backward_twice_without_retain_graph_is_refused():
    x = leaf(numpy.array(2.0))
    y = (x * x).tanh()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(numpy.array(2.0))
    y = x ** 3
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 3 * 4.0)


def test_create_graph_gives_second_and_third_derivatives():
    x = leaf(numpy.array(1.5))
    y = x ** 4
    (g,) = minigan.grad(y, x, create_graph=True)
    (gg,) = minigan.grad(g, x, create_graph=True)
    (ggg,) = minigan.grad(gg, x)
    assert (g.item(), gg.item(), ggg.item()) == pytest.approx((4 * 1.5 ** 3, 12 * 1.5 ** 2, 24 * 1.5))


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = leaf(numpy.array([0.3, -0.7]))
    y = (x.tanh() * x).sum()
    y.backward(create_graph=True)
    assert x.grad.requires_grad
    penalty = (x.grad * x.grad).sum()
    (gp,) = minigan.grad(penalty, x)
    assert gp.shape == x.shape and numpy.isfinite(gp.numpy()).all()


def test_grad_does_not_touch_dot_grad_and_reports_unused_inputs():
    x, unused = leaf(numpy.array(2.0)), leaf(numpy.array(5.0))
    y = x * x
    with pytest.raises(RuntimeError, match="input 1 .* was not used"):
        minigan.grad(y, [x, unused], retain_graph=True)
    gx, gu = minigan.grad(y, [x, unused], allow_unused=True)
    assert gx.item() == 4.0 and gu is None
    assert x.grad is None


def test_grad_of_an_intermediate_tensor():
    x = leaf(numpy.array(2.0))
    h = x * 3
    y = h * h
    (gh,) = minigan.grad(y, h)
    assert gh.item() == 12.0


def test_a_chain_of_100000_ops_does_not_hit_the_recursion_limit():
    x = leaf(numpy.array(1.0))
    y = x
    for _ in range(100_000):
        y = y + 1e-5
    (gx,) = minigan.grad(y, [x], retain_graph=True)   # grad() walks the graph first, to find what leads to x
    assert gx.item() == 1.0
    y.backward()
    assert x.grad.item() == 1.0
    assert y.item() == pytest.approx(2.0)


def test_grad_computes_only_the_gradients_that_lead_to_what_it_asks_for(monkeypatch):
    """A penalty's grad(D(x).sum(), [x]) needs no weight gradients: a convolution's backward skips its
    weight-gradient op there (as torch.autograd.grad does), and still makes it for backward()."""
    from minigan.ops import conv
    made = []
    original = conv.Conv2dWeight.forward
    monkeypatch.setattr(conv.Conv2dWeight, "forward", lambda self, *a: made.append(1) or original(self, *a))
    x = leaf(numpy.random.default_rng(0).standard_normal((2, 1, 6, 6)))
    W1, W2 = leaf(numpy.ones((3, 1, 3, 3))), leaf(numpy.ones((1, 3, 4, 4)))
    y = minigan.conv2d(minigan.relu(minigan.conv2d(x, W1)), W2).sum()
    (gx,) = minigan.grad(y, [x], retain_graph=True)
    assert made == []
    (gW1,) = minigan.grad(y, [W1], retain_graph=True)
    assert len(made) == 1    # W1's alone: W2's is not on the way to W1
    y.backward()
    assert len(made) == 3 and W2.grad is not None
    numpy.testing.assert_array_equal(gW1.numpy(), W1.grad.numpy())


def test_no_grad_records_nothing():
    x = leaf(numpy.array([1.0, 2.0]))
    with minigan.no_grad():
        y = x * 2
    assert y.creator is None and not y.requires_grad
    assert minigan.is_grad_enabled()


def test_inputs_without_requires_grad_are_not_tracked():
    a = minigan.tensor([1.0, 2.0])
    b = a * 3 + 1
    assert b.creator is None and not b.requires_grad
    w = leaf(numpy.array([1.0, 1.0], dtype=numpy.float32))
    (a * w).sum().backward()
    assert a.grad is None and w.grad is not None


def test_detach_cuts_the_graph():
    x = leaf(numpy.array(2.0))
    y = (x * x).detach() * x
    y.backward()
    assert x.grad.item() == 4.0  # d/dx (c * x) with c = x*x held constant


def test_tensor_basics():
    t = minigan.tensor([[1.0, 2.0, 3.0]])
    assert t.shape == (1, 3) and t.ndim == 2 and t.dtype == numpy.float32 and t.device == "cpu"
    assert t.size() == (1, 3) and t.size(1) == 3 and t.numel() == 3 and len(t) == 1
    assert isinstance(t.numpy(), numpy.ndarray)
    assert t.sum().item() == 6.0 and isinstance(t.sum().item(), float)
    assert minigan.tensor([1, 2]).dtype == numpy.int64
    assert minigan.tensor(numpy.zeros(2)).dtype == numpy.float64
    assert "grad_fn=Mul" in repr(leaf(numpy.ones(2)) * leaf(numpy.ones(2)))
    assert "grad_fn=Affine" in repr(leaf(numpy.ones(2)) * 2)
    with pytest.raises(ValueError, match="one element"):
        t.item()


def test_comparisons_give_boolean_tensors_outside_the_graph():
    x = leaf(numpy.array([-1.0, 0.0, 2.0]))
    assert (x > 0).numpy().tolist() == [False, False, True] and (x <= 0).numpy().tolist() == [True, True, False]
    assert (x < minigan.tensor([0.0, 1.0, 1.0], dtype="float64")).numpy().tolist() == [True, True, False]
    assert not (x >= 0).requires_grad and (x >= 0).dtype == bool
    kept = minigan.where(x > 0, x, x * 0)
    kept.sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0, 1.0]


def test_equality_compares_values_as_torch_does_and_tensors_still_key_dicts():
    """`==` once meant 'the same object', so `(predicted == labels).float().mean()` was a silent False."""
    torch = import_torch()
    a, b = [1.0, 2.0, 3.0], [1.0, 0.0, 3.0]
    ours, theirs = (minigan.tensor(a), minigan.tensor(b)), (torch.tensor(a), torch.tensor(b))
    for compare in (lambda x, y: x == y, lambda x, y: x != y, lambda x, y: x == 2.0, lambda x, y: 3 != y):
        assert compare(*ours).numpy().tolist() == compare(*theirs).numpy().tolist()
    assert (ours[0] == ours[1]).float().mean().item() == pytest.approx((theirs[0] == theirs[1]).float().mean().item())
    assert (numpy.array(a) == ours[1]).numpy().tolist() == [True, False, True]
    assert (ours[0] == None) is (theirs[0] == None) is False   # noqa: E711  (Python's answer, as in torch)
    assert (ours[0] != "x") is True
    with pytest.raises(TypeError, match="not supported"):
        ours[0] < None
    with pytest.raises(ValueError, match=r"x == y: shapes \(3,\) and \(2,\) do not broadcast"):
        ours[0] == minigan.tensor([1.0, 2.0])
    table = {ours[0]: "a", ours[1]: "b"}   # hashed by identity: a tensor finds itself, never its equal twin
    assert table[ours[0]] == "a" and minigan.tensor(a) not in table and ours[1] in {ours[1]}


def test_clone_copies_memory_and_passes_the_gradient_as_torch_does():
    torch = import_torch()
    x = leaf(numpy.array([1.0, -2.0, 3.0]))
    y = x.clone()
    assert y.data is not x.data and not numpy.shares_memory(y.data, x.data) and y.creator is not None
    with minigan.no_grad():
        y.data[0] = 100.0
    assert x.data[0] == 1.0
    (x.clone() * x).sum().backward()
    t = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (t.clone() * t).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
    assert x.dim() == x.ndim == t.dim() == 1 and minigan.zeros(2, 3).dim() == 2


def test_numpy_numbers_are_numbers_to_every_op_as_in_torch():
    """numpy.float32(2) was refused by `t * numpy.float32(2)` ("expected a Tensor, an array or a Python number"),
    and a NumPy number's own dtype would have decided the result's where torch reads it as a Python number."""
    torch = import_torch()
    cases = (lambda t, n: t * n, lambda t, n: n * t, lambda t, n: t + n, lambda t, n: n - t, lambda t, n: t / n,
             lambda t, n: t ** n)
    for number in (numpy.float32(2.5), numpy.int64(3), numpy.float64(0.5)):
        for values, dtype in (([1.0, 2.0], "float32"), ([1.0, 2.0], "float64"), ([1, 2], "int64")):
            ours = minigan.tensor(values, dtype=dtype)
            theirs = torch.tensor(values, dtype=getattr(torch, dtype))
            for case in cases:
                got, want = case(ours, number), case(theirs, number)
                assert str(got.dtype) == str(want.dtype).removeprefix("torch."), (case, number, dtype)
                numpy.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    numpy.testing.assert_array_equal(minigan.maximum(minigan.tensor([1.0, 4.0]), numpy.float32(2)).numpy(), [2, 4])


def test_numpy_reads_a_tensor_as_its_values_and_its_ufuncs_refuse_one():
    """numpy.asarray(t) and numpy.exp(t) were object arrays of one-element tensors."""
    x = leaf(numpy.array([[1.0, -2.0]]))
    numpy.testing.assert_array_equal(numpy.asarray(x), [[1.0, -2.0]])
    assert numpy.asarray(x).dtype == numpy.float64 and numpy.asarray(x, dtype=numpy.float32).dtype == numpy.float32
    numpy.testing.assert_allclose(x, [[1.0, -2.0]])   # what NumPy's own test helpers do with a tensor
    assert not numpy.shares_memory(numpy.array(x, copy=True), x.data)
    with pytest.raises(ValueError, match="needs a copy"):
        numpy.array(x, dtype=numpy.float32, copy=False)
    with pytest.raises(TypeError, match="does not support ufuncs"):
        numpy.exp(x)
    y = numpy.ones((1, 2)) * x   # NumPy still hands its operators to the tensor: a graph, not an array
    assert isinstance(y, Tensor) and y.grad_fn is not None and x.grad_fn is None and y.grad_fn is y.creator
    assert float(x.sum()) == -1.0 and int(minigan.tensor(3.7)) == 3 and isinstance(float(x[0, 0]), float)
    with pytest.raises(ValueError, match="one element"):
        float(x)


def test_to_takes_a_device_or_a_dtype_and_casts_to_integers_leave_the_graph():
    torch = import_torch()
    x = leaf(numpy.array([1.5, -2.5]))
    assert x.to("float32").dtype == x.to(numpy.float32).dtype == x.to(minigan.float32).dtype == numpy.float32
    assert x.to("cpu") is x and x.double() is x
    assert x.long().numpy().tolist() == torch.tensor([1.5, -2.5]).long().tolist()
    assert x.bool().numpy().tolist() == [True, True] and x.long().grad_fn is None and not x.long().requires_grad
    with pytest.raises(ValueError, match=r"to: expected a device \('cpu', 'cuda'\) or a dtype, got 'gpu'"):
        x.to("gpu")
    with pytest.raises(TypeError, match="to_dtype: dtype complex64 is not bool, an integer or a float type"):
        x.to_dtype("complex64")


def test_max_and_min_along_an_axis_give_values_and_indices_and_argmax_finds_them_as_torch_does():
    torch = import_torch()
    values = numpy.array([[[3.0, 1.0], [3.0, 7.0]], [[-1.0, 2.0], [0.5, 2.0]]])
    x, t = minigan.tensor(values), torch.tensor(values)
    for extreme in ("max", "min"):
        assert getattr(x, extreme)().item() == getattr(t, extreme)().item()
        for dim in (0, 1, 2, -1):
            for keepdim in (False, True):
                ours, theirs = getattr(x, extreme)(dim, keepdim), getattr(t, extreme)(dim, keepdim)
                numpy.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
                numpy.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
                _, where = getattr(x, extreme)(dim, keepdim)   # unpacks as torch's does
                assert where.numpy().tolist() == theirs.indices.tolist()
                for arg in ("argmax", "argmin"):
                    numpy.testing.assert_array_equal(getattr(x, arg)(dim, keepdim).numpy(),
                                                     getattr(t, arg)(dim, keepdim).numpy())
        with pytest.raises(TypeError, match=f"for several axes use a{extreme}"):
            getattr(x, extreme)((0, 1))
    assert x.argmax().item() == t.argmax().item() and x.argmin(keepdim=True).shape == (1, 1, 1)
    assert minigan.tensor(2.0).max(0).indices.item() == 0
    for name in ("max", "min"):   # the NumPy spellings, as every reduction takes them
        numpy.testing.assert_array_equal(getattr(x, name)(axis=1, keepdims=True).values.numpy(),
                                         getattr(t, name)(1, True).values.numpy())
    for name in ("argmax", "argmin"):
        numpy.testing.assert_array_equal(getattr(x, name)(axis=1, keepdims=True).numpy(),
                                         getattr(t, name)(1, True).numpy())
    with pytest.raises(ValueError, match="argmax of an empty tensor"):
        minigan.zeros(0).argmax()


def test_float32_stays_float32_through_numbers_and_ops():
    x = leaf(numpy.ones((2, 3), dtype=numpy.float32))
    y = ((x * 2.5 + 1) ** 2 / 3 - x.exp()).tanh().sigmoid().softmax(1).sum()
    y.backward()
    assert y.dtype == numpy.float32 and x.grad.dtype == numpy.float32


def test_creation_functions_follow_the_seed():
    minigan.manual_seed(7)
    a = minigan.randn(3, 2)
    minigan.manual_seed(7)
    b = minigan.randn(3, 2)
    numpy.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == numpy.float32 and minigan.zeros(2, 3).shape == (2, 3)
    assert minigan.ones((2,), dtype="float64").dtype == numpy.float64


def test_arange_takes_its_dtype_from_its_bounds_as_torch():
    """arange(0, 1, 0.5) was int64 [0, 0]: a float bound cut to an integer."""
    torch = import_torch()
    for bounds in [(4,), (0, 1, 0.5), (1, 3), (0.5, 3), (numpy.int64(3),)]:
        ours, theirs = minigan.arange(*bounds), torch.arange(*(int(b) if isinstance(b, numpy.integer) else b
                                                                 for b in bounds))
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        numpy.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("make, message", [
    (lambda: minigan.zeros(-1), "zeros: a shape is whole numbers, 0 or more; got (-1,)"),
    (lambda: minigan.ones((2, 2.5)), "ones: a shape is whole numbers, 0 or more; got (2, 2.5)"),
    (lambda: minigan.randn("3"), "randn: a shape is whole numbers, 0 or more; got ('3',)"),
    (lambda: minigan.randn(2, dtype="int64"), "randn: dtype int64 is not a float type"),
    (lambda: minigan.rand(2, dtype="bool"), "rand: dtype bool is not a float type"),
    (lambda: minigan.zeros(2, dtype="complex64"), "zeros: dtype complex64 is not bool, an integer or a float type"),
    (lambda: minigan.full(2, 1.0, dtype="floaty"), "full: 'floaty' is not a dtype"),
])
def test_creation_functions_name_a_bad_shape_or_dtype(make, message):
    """These were NumPy's messages, naming no function (or a complex tensor, which no op computes with)."""
    with pytest.raises((ValueError, TypeError)) as error:
        make()
    assert str(error.value) == message


def test_dropout_keeps_the_expectation_and_zeroes_the_rest():
    x = minigan.ones(100_000)
    y = minigan.dropout(x, 0.3)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    numpy.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    assert minigan.dropout(x, 0.3, training=False) is x


def test_binary_cross_entropy_with_logits_is_exact_for_huge_logits():
    x = leaf(numpy.array([1e4, -1e4, 1e4, -1e4], dtype=numpy.float32))
    t = minigan.tensor([1.0, 0.0, 0.0, 1.0])
    loss = minigan.binary_cross_entropy_with_logits(x, t, reduction="none")
    numpy.testing.assert_array_equal(loss.numpy(), [0.0, 0.0, 1e4, 1e4])
    loss.sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0, -1.0])


def test_sum_over_an_empty_axis_is_zero_with_an_empty_gradient():
    x = leaf(numpy.zeros((0, 3)))
    y = x.sum(0)
    numpy.testing.assert_array_equal(y.numpy(), numpy.zeros(3))
    y.sum().backward()
    assert x.grad.shape == (0, 3)


# --------------------------------------------------------------------------- the public gradient checker

class SquareWithWrongGradient(Function):
    """y = x**2 with the gradient forgotten by half: what gradcheck exists to catch."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0]


class SquareWithWrongSecondDerivative(Function):
    """The right first derivative, computed from constants, so its own derivative is lost."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * Tensor(2 * self.inputs[0].data)


def test_gradcheck_reports_input_element_values_and_relative_error():
    x = leaf(numpy.array([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(minigan.GradcheckError) as info:
        minigan.gradcheck(lambda x: SquareWithWrongGradient()(x), [x])
    message = str(info.value)
    assert "input 0" in message and "element" in message and "analytic" in message
    assert "numeric" in message and "relative error 0.5" in message and "float64" not in message
    x32 = leaf(numpy.array([[1.0, 2.0], [3.0, 4.0]], dtype=numpy.float32))   # a right gradient, float32 inputs
    with pytest.raises(minigan.GradcheckError, match="; the input is float32: check in float64, or with a larger eps"):
        minigan.gradcheck(lambda x: x * x, [x32])


def test_gradgradcheck_catches_a_backward_built_from_constants():
    x = leaf(numpy.array([1.0, -2.0]))
    assert minigan.gradcheck(lambda x: SquareWithWrongSecondDerivative()(x), [x])
    with pytest.raises(minigan.GradcheckError, match="input 0"):
        minigan.gradgradcheck(lambda x: SquareWithWrongSecondDerivative()(x), [x])


class Cube(Function):
    """y = x**3, and each way of writing it wrong that a Function of a user's own can: `mistake` names it."""

    def __init__(self, mistake=None):
        self.mistake = mistake

    def forward(self, *arrays):
        y = arrays[0] ** 3
        return minigan.tensor(y) if self.mistake == "a Tensor from forward" else y

    def backward(self, gy):
        x = self.inputs[0]
        gx = gy * 3 * x * x
        if self.mistake == "an array from backward":
            gx = gx.data
        if self.mistake == "too few gradients":
            return gx
        return [gx] + [None] * (len(self.inputs) - 1)   # a list does as well as a tuple


@pytest.mark.parametrize("mistake, error, message", [
    ("a Tensor from forward", TypeError, "Cube.forward returned a Tensor; forward takes arrays and returns an array"),
    ("an array from backward", TypeError, "Cube.backward returned a ndarray for an input; return Tensors"),
    ("too few gradients", RuntimeError, r"Cube.backward returned 1 gradient\(s\) for 2 input\(s\); return one per"),
    ("a NumPy input", TypeError, r"Cube: input 1 is a ndarray; pass Tensors \(minigan.tensor\(...\)\)"),
])
def test_a_users_function_written_wrong_is_told_what_is_wrong(mistake, error, message):
    """Each was an error from deep inside (a memoryview without astype, a ufunc's casting rule), or, for the
    missing gradient, no error at all: the second input silently got none."""
    x, other = leaf([1.0, 2.0], requires_grad=True), leaf([3.0, 4.0], requires_grad=True)
    with pytest.raises(error, match=message):
        Cube(mistake)(x, other.data if mistake == "a NumPy input" else other).sum().backward()
    y = Cube()(x, other)   # written right, with a list of gradients
    y.sum().backward()
    assert x.grad.data.tolist() == [3.0, 12.0] and other.grad is None


def test_gradcheck_needs_something_to_check():
    with pytest.raises(ValueError, match="requires_grad"):
        minigan.gradcheck(lambda x: x * 2, [minigan.tensor([1.0])])


def test_gradcheck_checks_every_output_of_a_function_returning_several():
    x = leaf(numpy.array([1.0, -2.0, 0.5]))
    assert minigan.gradcheck(lambda x: (x * x, x.sum()), [x])
    with pytest.raises(minigan.GradcheckError, match="input 0"):
        minigan.gradcheck(lambda x: (x.sum(), SquareWithWrongGradient()(x)), [x])


def test_gradcheck_takes_one_tensor_as_well_as_a_list_of_them():
    x = leaf(numpy.array([[1.0, -2.0], [0.5, 3.0]]))   # a Tensor of two rows: one input, not two
    assert minigan.gradcheck(lambda x: x * x, x) and minigan.gradgradcheck(lambda x: x * x * x, x)
    with pytest.raises(minigan.GradcheckError, match="input 0 .shape .2, 2.."):
        minigan.gradcheck(lambda x: SquareWithWrongGradient()(x), x)


def test_gradcheck_refuses_an_integer_output():
    x = leaf(numpy.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="int64 tensor, which has no gradient"):
        minigan.gradcheck(lambda x: minigan.tensor(numpy.array([1, 2])), [x])


# --------------------------------------------------------------------------- ops outside the op table

def _reseeded_dropout(x):
    minigan.manual_seed(11)  # the same mask at every evaluation, so finite differences see one function
    return minigan.dropout(x, 0.3)


def test_dropout_gradients_match_finite_differences_and_torch():
    from tests.support import import_torch
    x = leaf(numpy.random.default_rng(0).standard_normal((4, 5)))
    assert minigan.gradcheck(_reseeded_dropout, [x])
    assert minigan.gradgradcheck(lambda x: _reseeded_dropout(x) * x, [x])
    torch = import_torch()
    y = _reseeded_dropout(x)
    keep = torch.tensor(y.numpy() != 0)                 # the mask minigan drew, given to torch's autograd
    tx = torch.tensor(x.numpy(), requires_grad=True)
    ty = tx * keep / 0.7
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    v = numpy.random.default_rng(1).standard_normal((4, 5))
    (g,) = minigan.grad(y, x, minigan.tensor(v))
    (tg,) = torch.autograd.grad(ty, tx, torch.tensor(v))
    numpy.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-12)


def test_casts_between_float_dtypes_are_differentiable_and_match_torch():
    from tests.support import import_torch
    x = leaf(numpy.random.default_rng(0).standard_normal((3, 4)))
    f = lambda x: (x.to_dtype("float32") * x.to_dtype("float32")).to_dtype("float64")  # noqa: E731
    assert f(x).dtype == numpy.float64
    assert minigan.gradcheck(f, [x], eps=1e-3, atol=1e-4, rtol=1e-3)     # float32 inside: looser tolerances
    assert minigan.gradgradcheck(f, [x], eps=1e-3, atol=1e-4, rtol=1e-3)
    torch = import_torch()
    tx = torch.tensor(x.numpy(), requires_grad=True)
    ty = (tx.float() * tx.float()).double()
    (g,) = minigan.grad(f(x), x, minigan.ones(3, 4, dtype="float64"))
    (tg,) = torch.autograd.grad(ty, tx, torch.ones(3, 4, dtype=torch.float64))
    assert g.dtype == numpy.float64
    numpy.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-6)


def test_every_method_the_ops_give_tensor_is_listed_where_tensor_is_defined():
    """tensor.py lists the operators and methods that minigan/ops attaches to Tensor; the list is complete."""
    import re
    from minigan.autograd.tensor import Tensor
    doc = Tensor.__doc__
    symbols = {"add": "x + y", "sub": "x - y", "mul": "x * y", "truediv": "x / y", "pow": "x ** y",
               "matmul": "x @ y", "neg": "-x", "abs": "abs(x)", "getitem": "x[index]", "lt": "x < y",
               "le": "x <= y", "gt": "x > y", "ge": "x >= y", "eq": "x == y", "ne": "x != y"}
    attached = [name for name, value in vars(Tensor).items()
                if callable(value) and getattr(value, "__module__", "").startswith("minigan.ops")]
    assert len(attached) > 40
    for name in attached:
        if name.startswith("__"):
            op = name.strip("_")
            op = op[1:] if op not in symbols and op[1:] in symbols else op   # __radd__ is listed as x + y
            assert symbols[op] in doc, name
        else:
            assert name in re.findall(r"\w+", doc), name


def test_tensor_refuses_what_is_not_numbers():
    for bad in (["a", "b"], numpy.array([object(), 1], dtype=object), numpy.array([1 + 2j])):
        with pytest.raises(TypeError, match="tensor: expected numbers"):
            minigan.tensor(bad)
    assert minigan.tensor([True, False]).dtype == numpy.bool_ and minigan.tensor([1, 2]).dtype == numpy.int64


@pytest.mark.parametrize("expression", [
    "t / 2.5", "2.5 / t", "t / 2", "t / t", "1 / t", "t * 2.5", "t + 0.5", "0.5 - t", "t ** 0.5", "t * 2", "t + 1",
    "t ** 2", "b * 2.5", "lib.exp(t)", "lib.log(t)", "lib.sqrt(t)", "lib.sigmoid(t)", "lib.tanh(t)",
])
def test_integer_tensors_meet_floats_as_in_torch(expression):
    """A float number with an integer tensor was cut to an integer (t / 2.5 gave [0.5, 1.0], t ** 0.5 gave
    [1, 1]), and a fractional op of integers gave float64: now both give torch's values, in float32."""
    torch = import_torch()
    ours = eval(expression, {"t": minigan.tensor([1, 2, 4]), "b": minigan.tensor([True, False, True]),
                             "lib": minigan})
    theirs = eval(expression.replace("lib.", "torch."), {"t": torch.tensor([1, 2, 4]),
                                                         "b": torch.tensor([True, False, True]), "torch": torch})
    assert ours.numpy().dtype == numpy.dtype(str(theirs.dtype).removeprefix("torch."))
    numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_integer_tensors_average_and_compare_with_floats_in_float32():
    """What torch refuses for integers (mean, var, softmax, maximum with a float) works on their float32 values."""
    t, f = minigan.tensor([1, 2, 4]), minigan.tensor([1.0, 2.0, 4.0])
    for op in (lambda x: minigan.maximum(x, 1.5), lambda x: minigan.softmax(x, 0), lambda x: minigan.log_softmax(x, 0)):
        assert op(t).dtype == numpy.float32
        numpy.testing.assert_array_equal(op(t).numpy(), op(f).numpy())
    assert t.mean().dtype == numpy.float32 and t.mean().item() == pytest.approx(7 / 3)
    assert t.var().dtype == numpy.float32 and t.var().item() == pytest.approx(numpy.var([1, 2, 4], ddof=1))
