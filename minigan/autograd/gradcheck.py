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


def _upstream(shape, dtype, seed, like):
    rng = numpy.random.default_rng(seed)
    v = rng.standard_normal(shape).astype(dtype)
    return Tensor(backend.to_device(v, backend.device_of(like)))


def _checked(inputs):
    inputs = tuple(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(x).__name__}; pass Tensors")
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    return inputs, checked


def _output(fn, inputs):
    y = fn(*inputs)
    if not isinstance(y, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(y).__name__}")
    if not backend.get_array_module(y.data).isfinite(y.data).all():
        raise GradcheckError("gradcheck: fn returned non-finite values at the given inputs")
    return y


def _analytic(fn, inputs, checked, v):
    y = _output(fn, inputs)
    if not y.requires_grad:  # the output does not depend on any checked input: every gradient is zero
        return [numpy.zeros(inputs[i].shape) for i in checked]
    grads = grad(y, [inputs[i] for i in checked], grad_outputs=v, allow_unused=True)
    return [numpy.zeros(inputs[i].shape) if g is None else backend.as_numpy(g.data).astype(numpy.float64)
            for i, g in zip(checked, grads)]


def _numeric(fn, inputs, index, v, eps):
    """Central differences of L(x) = sum(fn(x) * v) with respect to every element of inputs[index]."""
    x = inputs[index].data
    if not x.flags.c_contiguous:
        raise ValueError(f"gradcheck: input {index} must be a contiguous array (make it with .copy())")
    flat = x.reshape(-1)  # a view: changing it changes x
    out = numpy.zeros(x.size)
    with no_grad():
        for k in range(x.size):
            original = flat[k].item()
            flat[k] = original + eps
            plus = float((fn(*inputs).data * v.data).sum())
            flat[k] = original - eps
            minus = float((fn(*inputs).data * v.data).sum())
            flat[k] = original
            out[k] = (plus - minus) / (2 * eps)
    return out.reshape(x.shape)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the analytic gradient of `fn` against central differences, for each input with requires_grad.

    fn: a function of the Tensors in `inputs` returning one Tensor. Returns True, or raises GradcheckError.
    """
    inputs, checked = _checked(inputs)
    y = _output(fn, inputs)
    v = _upstream(y.shape, y.dtype, seed, y.data)
    analytic = _analytic(fn, inputs, checked, v)
    for i, a in zip(checked, analytic):
        n = _numeric(fn, inputs, i, v, eps)
        bad = numpy.abs(a - n) > atol + rtol * numpy.abs(n)
        if bad.any():
            k = numpy.unravel_index(numpy.argmax(numpy.abs(a - n) * bad), a.shape)
            relative = abs(a[k] - n[k]) / max(abs(n[k]), 1e-300)
            raise GradcheckError(
                f"gradcheck: the gradient of input {i} (shape {inputs[i].shape}) is wrong at element {tuple(map(int, k))}:"
                f" analytic {float(a[k])!r}, numeric {float(n[k])!r}, relative error {relative:.3g}"
                f" ({int(bad.sum())} of {bad.size} elements outside atol={atol}, rtol={rtol};"
                f" upstream gradient drawn with seed {seed})")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: gradcheck of (inputs, v) -> d<fn(inputs), v>/d inputs, built with
    create_graph=True, with respect to the inputs and to the upstream gradient v itself."""
    from minigan.ops import cat, reshape  # the ops layer sits above autograd; it is needed only here
    inputs, checked = _checked(inputs)
    y = _output(fn, inputs)
    v = _upstream(y.shape, y.dtype, seed + 1, y.data)
    v.requires_grad = True

    def first_derivative(*args):
        xs, v = args[:-1], args[-1]
        with enable_grad():  # the finite differences run under no_grad, but a first derivative needs a graph
            y = fn(*xs)
            grads = grad(y, [xs[i] for i in checked], grad_outputs=v, create_graph=True, allow_unused=True)
        parts = [reshape(g, (-1,)) if g is not None else Tensor(xs[i].data.reshape(-1) * 0)
                 for i, g in zip(checked, grads)]
        return cat(parts) if len(parts) > 1 else parts[0]

    return gradcheck(first_derivative, inputs + (v,), eps=eps, atol=atol, rtol=rtol, seed=seed + 2)
