"""Tensor and Function: the two classes the whole engine is made of.

A Tensor holds a raw array (NumPy or CuPy) and, when it was computed from tensors that require gradients,
the Function that made it (its `creator`). Functions link back to their input Tensors, so every result
carries the graph of how it was computed; `backward` (in engine.py) walks that graph in reverse.

The one rule of the house: `Function.forward` takes and returns raw arrays; `Function.backward` takes and
returns Tensors, computed with the same differentiable ops. Backward therefore records a graph of its own
whenever recording is on, and that graph can be differentiated again (`create_graph=True`).
"""
import contextlib
import weakref

import numpy

from minigan import backend

# --------------------------------------------------------------------------- recording on and off

class _Mode:
    enabled = True   # record graphs; switched off by no_grad() and during a plain backward
    anomaly = False  # check every forward result and every gradient for inf and nan


@contextlib.contextmanager
def set_grad_enabled(enabled):
    """Switch graph recording on or off inside a `with` block."""
    previous = _Mode.enabled
    _Mode.enabled = bool(enabled)
    try:
        yield
    finally:
        _Mode.enabled = previous


def no_grad():
    """`with no_grad():` computes values without recording a graph (sampling, optimizer steps)."""
    return set_grad_enabled(False)


def enable_grad():
    return set_grad_enabled(True)


def is_grad_enabled():
    return _Mode.enabled


@contextlib.contextmanager
def detect_anomaly():
    """Inside this block every op checks its result, and backward every gradient, for inf and nan, and
    raises FloatingPointError naming the op at the first one (slower: use it to find where a NaN starts)."""
    previous = _Mode.anomaly
    _Mode.anomaly = True
    try:
        yield
    finally:
        _Mode.anomaly = previous


def check_finite(array, what):
    """Raise FloatingPointError naming `what` if `array` holds an inf or a nan."""
    if not backend.get_array_module(array).isfinite(array).all():
        raise FloatingPointError(f"{what} holds non-finite values (inf or nan)")


# --------------------------------------------------------------------------- Tensor

_FLOATS = (numpy.float16, numpy.float32, numpy.float64)


def _is_float(dtype):
    return dtype in _FLOATS


class Tensor:
    """An array with an optional gradient and the Function that computed it.

    `_version` counts in-place changes (see `Function.check_versions`), so that a gradient is never computed
    from an array that changed after the forward pass saved it.

    Its operators and most of its methods are differentiable ops, which live in minigan/ops (a layer above
    this one) and are attached to the class there, by `_install_tensor_methods` in minigan/ops/__init__.py:
        x + y, x - y, x * y, x / y, x ** y, x @ y, -x, abs(x), x[index]   (each also with a number or array)
        x < y, x <= y, x > y, x >= y, x == y, x != y                    (boolean tensors, outside the graph)
        add sub mul div pow neg  exp log sqrt abs tanh sigmoid relu clamp clip softmax log_softmax
        sum mean max min amax amin argmax argmin var
        reshape view flatten squeeze unsqueeze transpose permute expand broadcast_to matmul clone
        to_dtype float double long bool to cpu cuda
    The methods below are the ones that need no op: gradient bookkeeping, copies, in-place updates.
    """
    __slots__ = ("data", "grad", "creator", "generation", "_requires_grad", "_version", "name", "__weakref__")
    # NumPy (and CuPy) defer to Tensor in `array * tensor`; numpy.exp(tensor) is an error, not an array of
    # tensors: call the op (minigan.exp), or numpy.exp(tensor.numpy())
    __array_ufunc__ = None
    __array_priority__ = 200

    def __init__(self, data, requires_grad=False, name=None):
        self.data = data
        self.grad = None
        self.creator = None
        self.generation = 0
        self._version = 0
        self.name = name
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ---- gradient bookkeeping

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and not _is_float(self.data.dtype):
            raise TypeError(f"only floating-point tensors can require gradients; this one is {self.data.dtype}")
        if not flag and self.creator is not None:
            raise RuntimeError("requires_grad can only be switched off on a leaf tensor; use detach()")
        self._requires_grad = bool(flag)

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def grad_fn(self):
        """The Function that made this tensor (None for a leaf): torch's name for `creator`."""
        return self.creator

    def detach(self):
        """The same values, cut from the graph (no creator, no gradient)."""
        return Tensor(self.data)

    def requires_grad_(self, flag=True):
        self.requires_grad = flag
        return self

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Add d(self)/d(leaf) * grad into every leaf's `.grad` (see engine.backward)."""
        from minigan.autograd.engine import backward
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def zero_grad(self):
        self.grad = None

    # ---- what the array is

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    def dim(self):
        """The number of axes, as torch.Tensor.dim (also the property `ndim`)."""
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def T(self):
        return self.transpose()

    def size(self, dim=None):
        """The shape, or its length along `dim`, as torch.Tensor.size."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The values as a NumPy array (copied from the GPU when the tensor lives there)."""
        return backend.as_numpy(self.data)

    def item(self):
        """The one value of a one-element tensor, as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; this one has shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        """The values, for NumPy and what reads arrays through it (numpy.asarray(t), matplotlib), as `numpy()`."""
        values = self.numpy()
        if copy is False and (values is not self.data or (dtype is not None and values.dtype != dtype)):
            raise ValueError(f"a NumPy array of this {self.device} tensor as {dtype or values.dtype} needs a copy")
        if dtype is not None:
            values = values.astype(dtype, copy=False)
        return values.copy() if copy and values is self.data else values

    def __repr__(self):
        body = numpy.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = [f"dtype={self.dtype}"]
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.creator is not None:
            extras.append(f"grad_fn={type(self.creator).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    def __hash__(self):   # by identity, so tensors key dicts and sets although `==` compares values
        return id(self)

    # ---- in-place changes: allowed outside recording only, and counted

    def _before_inplace(self, what):
        if _Mode.enabled and self._requires_grad:
            raise RuntimeError(
                f"{what}: a tensor that requires grad cannot be changed in place while recording; "
                "wrap the update in `with minigan.no_grad():`")
        self._version += 1

    def _operand(self, value):
        return value.data if isinstance(value, Tensor) else value

    def copy_(self, src):
        """Overwrite the values with `src` (same shape), in place."""
        self._before_inplace("copy_")
        src = self._operand(src)
        if tuple(src.shape) != self.shape:
            raise ValueError(f"copy_: source shape {tuple(src.shape)} does not match tensor shape {self.shape}")
        self.data[...] = src
        return self

    def fill_(self, value):
        self._before_inplace("fill_")
        self.data.fill(value)
        return self

    def zero_(self):
        return self.fill_(0)

    def add_(self, other, alpha=1):
        self._before_inplace("add_")
        other = self._operand(other)
        self.data += other if alpha == 1 else alpha * other
        return self

    def sub_(self, other, alpha=1):
        return self.add_(self._operand(other), alpha=-alpha)

    def mul_(self, other):
        self._before_inplace("mul_")
        self.data *= self._operand(other)
        return self

    def mark_modified(self):
        """Count a change made directly through `.data` (optimizers do this after updating arrays in place)."""
        self._version += 1


def _as_array(x, op):
    """The raw array of op's forward result (NumPy reductions return scalars, not arrays)."""
    if isinstance(x, numpy.ndarray):
        return x
    if isinstance(x, numpy.generic):
        return numpy.asarray(x)
    if isinstance(x, Tensor) or not hasattr(x, "dtype"):   # a mistake in a Function of the user's own
        raise TypeError(f"{type(op).__name__}.forward returned a {type(x).__name__}; forward takes arrays and "
                        "returns an array (Tensors are for backward)")
    return x  # a CuPy array: its reductions already return arrays


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new leaf tensor from a list, a number or an array (copied).

    Python floats become float32, Python ints int64, booleans bool; arrays keep their dtype unless `dtype`
    says otherwise. `device` defaults to where `data` lives ("cpu" for lists and numbers).
    """
    if isinstance(data, Tensor):
        data = data.data
    if not hasattr(data, "dtype"):  # a list or a number
        data = numpy.asarray(data)
        if dtype is None and data.dtype.kind == "f":
            dtype = numpy.float32
    if numpy.dtype(data.dtype).kind not in "biuf":
        raise TypeError(f"tensor: expected numbers (bool, int or float), got an array of {data.dtype}")
    array = backend.to_device(data, device or backend.device_of(data))
    array = backend.get_array_module(array).array(array, dtype=dtype, copy=True, order="C")
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(value, like):
    """`value` as a Tensor matching `like`'s dtype and device (Python numbers in binary ops)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool)):
        xp = backend.get_array_module(like.data)
        return Tensor(xp.asarray(value, dtype=like.data.dtype))
    if isinstance(value, numpy.ndarray) or backend.get_array_module(value) is not numpy:
        return Tensor(value)
    raise TypeError(f"expected a Tensor, an array or a Python number, got {type(value).__name__}")


# --------------------------------------------------------------------------- Function

class Function:
    """One differentiable operation. Subclasses write `forward(*arrays) -> array` and
    `backward(gy) -> gx` (or a tuple or list, one per input; None where an input needs no gradient).

    Calling a Function runs `forward` on the raw arrays; when recording is on and an input requires a
    gradient, it also links the result into the graph:
      output.creator = self, self.inputs = inputs, generation = 1 + the latest input's generation.
    The generation orders backward (engine.py): a function runs only after every function that uses its
    output has passed its gradient back.
    """
    inputs = None
    generation = 0
    needs_input_grad = None   # set by the backward walk when grad() asks for some tensors only (engine.py)
    reads_inputs = True   # backward reads the input values (not just their shapes): check them for changes
    reads_output = False  # backward reads the output values (tanh, exp, ...): check it for changes

    def __call__(self, *inputs):
        try:
            arrays = [x.data for x in inputs]
            if len(arrays) > 1:
                self._check_same_device(arrays)
            y = _as_array(self.forward(*arrays), self)
        except ValueError as error:  # NumPy's shape errors, named with the op and its input shapes
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(f"{type(self).__name__}: {error} (input shapes {shapes})") from None
        except (AttributeError, TypeError):   # an input that is no Tensor is named; checked only on a failure
            self._check_inputs(inputs)
            raise
        if _Mode.anomaly:
            check_finite(y, f"the output of {type(self).__name__} (input shapes "
                            f"{', '.join(str(tuple(a.shape)) for a in arrays)})")
        output = Tensor(y)
        if _Mode.enabled:
            try:
                for x in inputs:
                    if x._requires_grad:
                        self._link(inputs, output)
                        break
            except AttributeError:   # an input the forward did not read, and no Tensor
                self._check_inputs(inputs)
                raise
        return output

    def _check_inputs(self, inputs):
        for i, x in enumerate(inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"{type(self).__name__}: input {i} is a {type(x).__name__}; pass Tensors "
                                "(minigan.tensor(...))") from None

    def _link(self, inputs, output):
        self.generation = max(x.generation for x in inputs)
        self.inputs = inputs
        self.versions = [x._version for x in inputs]
        self.output = weakref.ref(output)
        output.creator = self
        output._requires_grad = True
        output.generation = self.generation + 1

    @staticmethod
    def _check_same_device(arrays):
        first = type(arrays[0])
        for a in arrays[1:]:
            if type(a) is not first and backend.device_of(a) != backend.device_of(arrays[0]):
                raise RuntimeError(
                    "expected all tensors on one device, got "
                    + " and ".join(sorted({backend.device_of(b) for b in arrays})))

    def check_versions(self):
        """Refuse to differentiate through arrays changed in place after forward saved them."""
        for i, x in enumerate(self.inputs):
            if self.reads_inputs and x._version != self.versions[i]:
                raise RuntimeError(
                    f"{type(self).__name__}: input {i} (shape {x.shape}) was modified in place after the forward "
                    f"pass (version {self.versions[i]} -> {x._version}); its gradient would be wrong. "
                    "Change a copy instead, or call backward before the change.")
        y = self.output()
        if self.reads_output and y is not None and y._version != 0:
            raise RuntimeError(
                f"{type(self).__name__}: its output (shape {y.shape}) was modified in place after the forward "
                "pass; its gradient would be wrong.")

    def needs_grad(self, i):
        """Whether backward must compute the gradient of input i: the input requires one, and, in a call of
        grad() that asks for some tensors only, one of them is reached through it (as torch's
        ctx.needs_input_grad). Ops whose gradients are costly (products, convolutions) ask this."""
        return self.inputs[i].requires_grad and (self.needs_input_grad is None or self.needs_input_grad[i])

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError
