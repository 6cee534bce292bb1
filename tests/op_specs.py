"""The table of differentiable ops the gradient tests run over.

Each OpSpec names an op, how to call it in minigan and in PyTorch, and how to draw its inputs: `make(data, rng)`
draws shapes with hypothesis and values with NumPy and returns (float64 arrays, keyword arguments). Values are
kept away from kinks (relu at 0, clamp at its bounds, ties in max) so finite differences are valid there;
the kinks themselves are tested against torch's conventions in test_ops_kinks.py.
"""
from dataclasses import dataclass
from typing import Callable

import numpy
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minigan


@dataclass
class OpSpec:
    name: str
    ours: Callable        # f(*tensors, **kwargs) in minigan
    theirs: Callable      # f(torch, *tensors, **kwargs) in PyTorch, or None where torch has no twin
    make: Callable        # (data, rng) -> (list of float64 arrays, kwargs)


def shape(data, min_dims=0, max_dims=3):
    return data.draw(array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=3), label="shape")


def away_from(values, points, gap=0.1):
    """Move values at least `gap` away from each kink point (keeping which side they were on)."""
    for p in points:
        near = numpy.abs(values - p) < gap
        values = numpy.where(near, p + numpy.where(values >= p, gap, -gap) * 1.5, values)
    return values


def unary(transform=lambda v: v, min_dims=0):
    def make(data, rng):
        return [transform(rng.standard_normal(shape(data, min_dims)))], {}
    return make


def positive(v):
    return 0.5 + numpy.abs(v)


def binary(transform0=lambda v: v, transform1=lambda v: v):
    def make(data, rng):
        shapes = data.draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), label="shapes")
        a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
        return [transform0(a), transform1(b)], {}
    return make


def distinct_pair(data, rng):
    """Two broadcastable arrays that never tie (so maximum/minimum are differentiable everywhere here)."""
    (a, b), _ = binary()(data, rng)
    b = numpy.where(numpy.abs(a - b) < 0.1, b + 0.3, b)
    return [a, b], {}


def reduction(distinct=False, min_size=1):
    def make(data, rng):
        s = shape(data, min_dims=1)
        dims = data.draw(st.one_of(st.none(), st.sets(st.integers(0, len(s) - 1), min_size=1)), label="dims")
        dims = tuple(range(len(s))) if dims is None else tuple(sorted(dims))
        count = int(numpy.prod([s[d] for d in dims]))
        if count < min_size:
            s = tuple(2 if d in dims else n for d, n in enumerate(s))
        if distinct:
            values = rng.permutation(int(numpy.prod(s))).reshape(s) * 0.3 + rng.standard_normal(s) * 0.01
        else:
            values = rng.standard_normal(s)
        return [values], {"dim": dims, "keepdim": data.draw(st.booleans(), label="keepdim")}
    return make


def one_dim(data, rng):
    s = shape(data, min_dims=1)
    return [rng.standard_normal(s)], {"dim": data.draw(st.integers(-len(s), len(s) - 1), label="dim")}


def one_dim_distinct(data, rng):
    """One axis and keepdim, over values that never tie (the max along an axis has a gradient there)."""
    s = shape(data, min_dims=1)
    values = rng.permutation(int(numpy.prod(s))).reshape(s) * 0.3 + rng.standard_normal(s) * 0.01
    dim = data.draw(st.integers(-len(s), len(s) - 1), label="dim")
    return [values], {"dim": dim, "keepdim": data.draw(st.booleans(), label="keepdim")}


def permutation(data, rng):
    s = shape(data, min_dims=1)
    return [rng.standard_normal(s)], {"dims": tuple(int(d) for d in rng.permutation(len(s)))}


def expand(data, rng):
    s = shape(data)
    target = tuple(data.draw(st.lists(st.integers(1, 3), max_size=1), label="lead")) + \
        tuple(n if n != 1 else data.draw(st.integers(1, 3), label="grow") for n in s)
    return [rng.standard_normal(s)], {"shape": target}


def basic_index(data, rng):
    x = rng.standard_normal(shape(data, min_dims=2))
    return [x], {"index": (slice(None, None, 2), -1) if x.ndim == 2 else (0, slice(1, None), slice(None, None, 2))}


def integer_index(data, rng):
    x = rng.standard_normal(shape(data, min_dims=1))
    idx = rng.integers(0, x.shape[0], size=data.draw(st.integers(1, 5), label="count"))  # repeats likely
    return [x], {"index": idx}


def mask_index(data, rng):
    x = rng.standard_normal(shape(data, min_dims=1))
    return [x], {"index": rng.random(x.shape) < 0.5}


def pieces(data, rng):
    s = shape(data, min_dims=1)
    dim = data.draw(st.integers(0, len(s) - 1), label="dim")
    arrays = []
    for _ in range(data.draw(st.integers(2, 3), label="count")):
        part = list(s)
        part[dim] = data.draw(st.integers(1, 3), label="length")
        arrays.append(rng.standard_normal(part))
    return arrays, {"dim": dim}


def same_shapes(n):
    def make(data, rng):
        s = shape(data)
        return [rng.standard_normal(s) for _ in range(n)], {}
    return make


def matrices(data, rng):
    m, k, n = (data.draw(st.integers(1, 4), label="mkn") for _ in range(3))
    batch = tuple(data.draw(st.lists(st.integers(1, 2), max_size=2), label="batch"))
    right_batch = batch[len(batch) // 2:]
    return [rng.standard_normal(batch + (m, k)), rng.standard_normal(right_batch + (k, n))], {}


def linear_inputs(data, rng):
    n, i, o = (data.draw(st.integers(1, 4), label="sizes") for _ in range(3))
    return [rng.standard_normal((n, i)), rng.standard_normal((o, i)), rng.standard_normal(o)], {}


def layer_norm_inputs(data, rng):
    """An input whose last axes (at least two values) are normalized, with a weight and a bias of their shape."""
    lead = data.draw(array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), label="lead")
    normalized = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
                           .filter(lambda s: numpy.prod(s) > 1), label="normalized")
    x = rng.standard_normal(lead + normalized)
    return [x, 1 + 0.5 * rng.standard_normal(normalized), rng.standard_normal(normalized)], {"shape": normalized}


def layer_norm_grad_inputs(data, rng):
    """An upstream gradient and an input of layer norm (the second derivative's op, NormalizedGrad), with at
    least four normalized values: over two or three, xhat is near +-1 whatever x is, and the third
    derivative is so ill-conditioned that float32 loses up to 14% of it, in PyTorch and in minigan alike
    (200 random draws of each; from four values on, both stay within 1.1e-6 of float64)."""
    lead = data.draw(array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), label="lead")
    normalized = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
                           .filter(lambda s: numpy.prod(s) >= 4), label="normalized")
    return [rng.standard_normal(lead + normalized), rng.standard_normal(lead + normalized)], {"shape": normalized}


def _torch_layer_norm_of_elementary_ops(torch, x, shape):
    """Layer norm written in PyTorch's elementary ops, whose derivatives of every order PyTorch's autograd
    makes exactly. The oracle for layer_norm_grad's own second derivative (layer norm's third): PyTorch's
    fused layer_norm gets that one wrong (on a (3,) input its third derivative differs from the finite
    differences of its own second derivative in every entry, by 13 to 27; ours agrees with them)."""
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    centred = x - x.mean(dims, keepdim=True)
    return centred / torch.sqrt((centred * centred).mean(dims, keepdim=True) + 1e-5)


def logits_and_probabilities(data, rng):
    s = shape(data, min_dims=1)
    return [rng.standard_normal(s) * 3, rng.random(s)], {"reduction": data.draw(st.sampled_from(["mean", "sum", "none"]))}


def logits_and_classes(data, rng):
    n, c = data.draw(st.integers(1, 4), label="n"), data.draw(st.integers(2, 5), label="c")
    return [rng.standard_normal((n, c))], {"target": rng.integers(0, c, n),
                                           "reduction": data.draw(st.sampled_from(["mean", "sum", "none"]))}


def where_inputs(data, rng):
    (a, b), _ = binary()(data, rng)
    cond = rng.random(numpy.broadcast_shapes(a.shape, b.shape)) < 0.5
    return [a, b], {"condition": cond}


def _t(torch, a):
    return torch.as_tensor(a)


SPECS = [
    # ---- elementwise
    OpSpec("neg", lambda x: -x, lambda t, x: -x, unary()),
    OpSpec("exp", minigan.exp, lambda t, x: t.exp(x), unary()),
    OpSpec("log", minigan.log, lambda t, x: t.log(x), unary(positive)),
    OpSpec("sqrt", minigan.sqrt, lambda t, x: t.sqrt(x), unary(positive)),
    OpSpec("abs", minigan.abs, lambda t, x: t.abs(x), unary(lambda v: away_from(v, [0]))),
    OpSpec("tanh", minigan.tanh, lambda t, x: t.tanh(x), unary()),
    OpSpec("sigmoid", minigan.sigmoid, lambda t, x: t.sigmoid(x), unary(lambda v: 4 * v)),
    OpSpec("relu", minigan.relu, lambda t, x: t.relu(x), unary(lambda v: away_from(v, [0]))),
    OpSpec("leaky_relu", lambda x: minigan.leaky_relu(x, 0.2),
           lambda t, x: t.nn.functional.leaky_relu(x, 0.2), unary(lambda v: away_from(v, [0]))),
    OpSpec("softplus", minigan.softplus, lambda t, x: t.nn.functional.softplus(x), unary(lambda v: 4 * v)),
    OpSpec("clamp", lambda x: minigan.clamp(x, -0.5, 0.5), lambda t, x: t.clamp(x, -0.5, 0.5),
           unary(lambda v: away_from(v, [-0.5, 0.5]))),
    OpSpec("pow_const", lambda x: x ** 3, lambda t, x: x ** 3, unary()),
    OpSpec("pow_fractional", lambda x: x ** 1.5, lambda t, x: x ** 1.5, unary(positive)),
    OpSpec("square", lambda x: x ** 2, lambda t, x: x ** 2, unary()),
    OpSpec("add", lambda a, b: a + b, lambda t, a, b: a + b, binary()),
    OpSpec("sub", lambda a, b: a - b, lambda t, a, b: a - b, binary()),
    OpSpec("mul", lambda a, b: a * b, lambda t, a, b: a * b, binary()),
    OpSpec("div", lambda a, b: a / b, lambda t, a, b: a / b, binary(transform1=lambda v: away_from(v, [0], 0.5))),
    OpSpec("pow", lambda a, b: a ** b, lambda t, a, b: a ** b, binary(transform0=positive)),
    OpSpec("scalar_arithmetic", lambda x: (2 - x) * 3 / (x * x + 1) + 0.5,
           lambda t, x: (2 - x) * 3 / (x * x + 1) + 0.5, unary()),
    OpSpec("maximum", minigan.maximum, lambda t, a, b: t.maximum(a, b), distinct_pair),
    OpSpec("minimum", minigan.minimum, lambda t, a, b: t.minimum(a, b), distinct_pair),
    OpSpec("where", lambda a, b, condition: minigan.where(condition, a, b),
           lambda t, a, b, condition: t.where(_t(t, condition), a, b), where_inputs),
    # ---- reductions
    OpSpec("sum", lambda x, dim, keepdim: x.sum(dim, keepdim), lambda t, x, dim, keepdim: x.sum(dim, keepdim),
           reduction()),
    OpSpec("mean", lambda x, dim, keepdim: x.mean(dim, keepdim), lambda t, x, dim, keepdim: x.mean(dim, keepdim),
           reduction()),
    OpSpec("amax", lambda x, dim, keepdim: x.amax(dim, keepdim), lambda t, x, dim, keepdim: t.amax(x, dim, keepdim),
           reduction(distinct=True)),
    OpSpec("amin", lambda x, dim, keepdim: x.amin(dim, keepdim), lambda t, x, dim, keepdim: t.amin(x, dim, keepdim),
           reduction(distinct=True)),
    OpSpec("max_along_dim", lambda x, dim, keepdim: x.max(dim, keepdim).values,
           lambda t, x, dim, keepdim: t.max(x, dim, keepdim).values, one_dim_distinct),
    OpSpec("min_along_dim", lambda x, dim, keepdim: x.min(dim, keepdim).values,
           lambda t, x, dim, keepdim: t.min(x, dim, keepdim).values, one_dim_distinct),
    OpSpec("var", lambda x, dim, keepdim: x.var(dim, keepdim), lambda t, x, dim, keepdim: t.var(x, dim, keepdim=keepdim),
           reduction(min_size=2)),
    OpSpec("logsumexp", lambda x, dim, keepdim: minigan.logsumexp(x, dim, keepdim),
           lambda t, x, dim, keepdim: t.logsumexp(x, dim, keepdim), reduction()),
    OpSpec("log_softmax", lambda x, dim: minigan.log_softmax(x, dim),
           lambda t, x, dim: t.log_softmax(x, dim), one_dim),
    OpSpec("softmax", lambda x, dim: minigan.softmax(x, dim), lambda t, x, dim: t.softmax(x, dim), one_dim),
    # ---- shapes
    OpSpec("reshape", lambda x: x.reshape(-1), lambda t, x: x.reshape(-1), unary()),
    OpSpec("clone", lambda x: minigan.clone(x) * x, lambda t, x: t.clone(x) * x, unary()),   # * x: a 2nd derivative
    OpSpec("flatten_unsqueeze_squeeze", lambda x: x.unsqueeze(0).flatten(1).squeeze(0),
           lambda t, x: x.unsqueeze(0).flatten(1).squeeze(0), unary(min_dims=1)),
    OpSpec("permute", lambda x, dims: x.permute(dims), lambda t, x, dims: x.permute(dims), permutation),
    OpSpec("transpose", lambda x: x.transpose(0, -1), lambda t, x: x.transpose(0, -1), unary(min_dims=1)),
    OpSpec("expand", lambda x, shape: x.expand(shape), lambda t, x, shape: x.expand(shape), expand),
    OpSpec("getitem_basic", lambda x, index: x[index], lambda t, x, index: x[index], basic_index),
    OpSpec("getitem_integer_array", lambda x, index: x[index], lambda t, x, index: x[_t(t, index)], integer_index),
    OpSpec("getitem_mask", lambda x, index: x[index], lambda t, x, index: x[_t(t, index)], mask_index),
    OpSpec("cat", lambda *xs, dim: minigan.cat(xs, dim), lambda t, *xs, dim: t.cat(xs, dim), pieces),
    OpSpec("stack", lambda a, b, c: minigan.stack([a, b, c], 1 if a.ndim else 0),
           lambda t, a, b, c: t.stack([a, b, c], 1 if a.ndim else 0), same_shapes(3)),
    # ---- linear algebra
    OpSpec("matmul", lambda a, b: a @ b, lambda t, a, b: a @ b, matrices),
    OpSpec("linear", minigan.linear, lambda t, x, W, b: t.nn.functional.linear(x, W, b), linear_inputs),
    # ---- normalization (batch norm has its own tests, with its running statistics: test_norm_pool.py)
    OpSpec("layer_norm", lambda x, w, b, shape: minigan.layer_norm(x, shape, w, b),
           lambda t, x, w, b, shape: t.nn.functional.layer_norm(x, shape, w, b), layer_norm_inputs),
    OpSpec("layer_norm_without_affine", lambda x, w, b, shape: minigan.layer_norm(x, shape),
           lambda t, x, w, b, shape: t.nn.functional.layer_norm(x, shape), layer_norm_inputs),
    OpSpec("layer_norm_grad", lambda g, x, shape: minigan.layer_norm_grad(g, x, shape),
           lambda t, g, x, shape: t.autograd.grad(_torch_layer_norm_of_elementary_ops(t, x, shape), x, g,
                                                  create_graph=True)[0],
           layer_norm_grad_inputs),
    # ---- losses
    OpSpec("binary_cross_entropy_with_logits",
           lambda x, y, reduction: minigan.binary_cross_entropy_with_logits(x, y, reduction),
           lambda t, x, y, reduction: t.nn.functional.binary_cross_entropy_with_logits(x, y, reduction=reduction),
           logits_and_probabilities),
    OpSpec("cross_entropy", lambda x, target, reduction: minigan.cross_entropy(x, target, reduction),
           lambda t, x, target, reduction: t.nn.functional.cross_entropy(x, _t(t, target), reduction=reduction),
           logits_and_classes),
    OpSpec("mse_loss", lambda a, b: minigan.mse_loss(a, b), lambda t, a, b: t.nn.functional.mse_loss(a, b),
           same_shapes(2)),
]
