"""Checking gradients against finite differences: a public tool, for minigan's ops and for yours.

    gradcheck(fn, inputs)      d fn / d inputs, analytic (backward) against numeric (central differences)
    gradgradcheck(fn, inputs)  the same for the gradient itself, i.e. for second derivatives

Both use a random upstream gradient v, so they check the whole Jacobian product v^T J, not just one
direction. On a mismatch they raise GradcheckError naming the input, the element, both values and the
relative error. The default tolerances are meant for float64 inputs; a float32 check needs looser ones
(and a larger eps), given explicitly by the caller.
"""
import numpy

from minigan import backend
from minigan.autograd.engine import grad
from minigan.autograd.tensor import Tensor, enable_grad, no_grad


class GradcheckError(AssertionError):
    """A gradient that does not match its finite-difference estimate."""


def _upstream(outputs, seed):
    """One random upstream gradient per output, drawn in order from one seeded generator."""
    rng = numpy.random.default_rng(seed)
    return [Tensor(backend.to_device(rng.standard_normal(y.shape).astype(y.dtype), backend.device_of(y.data)))
            for y in outputs]


def _checked(inputs):
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)   # one Tensor, or a sequence of them
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(x).__name__}; pass Tensors")
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    return inputs, checked


def _outputs(fn, inputs):
    """fn's result as a tuple of Tensors (fn may return one Tensor or a tuple of them)."""
    ys = fn(*inputs)
    ys = ys if isinstance(ys, tuple) else (ys,)
    for y in ys:
        if not isinstance(y, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {type(y).__name__}")
        if y.data.dtype.kind != "f":
            raise TypeError(f"gradcheck: fn returned a {y.data.dtype} tensor, which has no gradient; "
                            "return a floating-point one")
        if not backend.get_array_module(y.data).isfinite(y.data).all():
            raise GradcheckError("gradcheck: fn returned non-finite values at the given inputs")
    return ys


def _analytic(fn, inputs, checked, vs):
    """d L / d inputs by backward, where L = sum over outputs of sum(y * v)."""
    ys = _outputs(fn, inputs)
    linked = [(y, v) for y, v in zip(ys, vs) if y.requires_grad]
    if not linked:  # no output depends on a checked input: every gradient is zero
        return [numpy.zeros(inputs[i].shape) for i in checked]
    grads = grad([y for y, _ in linked], [inputs[i] for i in checked], grad_outputs=[v for _, v in linked],
                 allow_unused=True)
    return [numpy.zeros(inputs[i].shape) if g is None else backend.as_numpy(g.data).astype(numpy.float64)
            for i, g in zip(checked, grads)]


def _numeric(fn, inputs, index, vs, eps):
    """Central differences of L(x) = sum over outputs of sum(y * v), for every element of inputs[index]."""
    x = inputs[index].data
    if not x.flags.c_contiguous:
        raise ValueError(f"gradcheck: input {index} must be a contiguous array (make it with .copy())")
    flat = x.reshape(-1)  # a view: changing it changes x

    def L():
        return sum(float((y.data * v.data).sum()) for y, v in zip(_outputs(fn, inputs), vs))

    out = numpy.zeros(x.size)
    with no_grad():
        for k in range(x.size):
            original = flat[k].item()
            flat[k] = original + eps
            plus = L()
            flat[k] = original - eps
            minus = L()
            flat[k] = original
            out[k] = (plus - minus) / (2 * eps)
    return out.reshape(x.shape)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the analytic gradient of `fn` against central differences, for each input with requires_grad.

    fn: a function of the Tensors in `inputs` (a Tensor, or a list or tuple of them) returning one Tensor or a
    tuple of them. Returns True, or raises GradcheckError.
    """
    inputs, checked = _checked(inputs)
    vs = _upstream(_outputs(fn, inputs), seed)
    analytic = _analytic(fn, inputs, checked, vs)
    for i, a in zip(checked, analytic):
        n = _numeric(fn, inputs, i, vs, eps)
        bad = numpy.abs(a - n) > atol + rtol * numpy.abs(n)
        if bad.any():
            k = numpy.unravel_index(numpy.argmax(numpy.abs(a - n) * bad), a.shape)
            relative = abs(a[k] - n[k]) / max(abs(n[k]), 1e-300)
            coarse = inputs[i].data.dtype.itemsize < 8   # eps=1e-6 is below float32's resolution near 1
            raise GradcheckError(
                f"gradcheck: the gradient of input {i} (shape {inputs[i].shape}) is wrong at element {tuple(map(int, k))}:"
                f" analytic {float(a[k])!r}, numeric {float(n[k])!r}, relative error {relative:.3g}"
                f" ({int(bad.sum())} of {bad.size} elements outside atol={atol}, rtol={rtol};"
                f" upstream gradient drawn with seed {seed})"
                + (f"; the input is {inputs[i].data.dtype}: check in float64, or with a larger eps and looser "
                   "tolerances" if coarse else ""))
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: gradcheck of (inputs, v) -> d<fn(inputs), v>/d inputs (one output per
    checked input), built with create_graph=True, with respect to the inputs and to the upstream gradient v."""
    inputs, checked = _checked(inputs)
    ys = _outputs(fn, inputs)
    if len(ys) != 1:
        raise TypeError(f"gradgradcheck: fn must return one Tensor, got {len(ys)}")
    v, = _upstream(ys, seed + 1)
    v.requires_grad = True

    def first_derivative(*args):
        xs, v = args[:-1], args[-1]
        with enable_grad():  # the finite differences run under no_grad, but a first derivative needs a graph
            y = fn(*xs)
            grads = grad(y, [xs[i] for i in checked], grad_outputs=v, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor(xs[i].data * 0) for i, g in zip(checked, grads))

    return gradcheck(first_derivative, inputs + (v,), eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
