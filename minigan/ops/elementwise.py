"""Elementwise ops: arithmetic, the usual nonlinearities, comparisons that select, and dropout.

Binary ops broadcast as NumPy does; their backward sums the upstream gradient back to each input's shape
(`sum_to`). A number in a binary op, Python's or NumPy's, takes the tensor's dtype and device, except that a
float meeting an integer or bool tensor makes it float32, as in torch (NumPy would make 2.5 an integer, 2); two
tensors of different dtypes are refused rather than silently promoted (float32 stays float32).

Masks used in a backward (relu's x > 0, clamp's in-range set) are constants: the gradient of a piecewise
linear function is piecewise constant, so their own derivative is zero and a second derivative is right.
"""
import numpy

from minigan import backend, kernels
from minigan.autograd.tensor import Function, Tensor, as_tensor, is_grad_enabled
from minigan.ops.broadcast import sum_to


def floating(x):
    """x as float32 if it holds integers or bools, for an op whose result is fractional (division, exp, a float
    number's arithmetic): as in torch, where NumPy would give float64 or cut 2.5 to 2. An integer tensor has
    no gradient, so the conversion is no op of the graph. Any other x is returned as it is."""
    if isinstance(x, Tensor) and x.data.dtype.kind in "biu":
        return Tensor(x.data.astype("float32"))
    return x


def _for_number(x, number):
    """x ready to meet a Python number: floating(x) when the number is a float."""
    return floating(x) if isinstance(number, float) else x


def _plain(value):
    """A NumPy number as the Python number it holds, anything else as it is: numpy.float32(2) in an op is 2.0,
    as in torch, where NumPy would let its own type decide the result's."""
    if isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
        return value.item()
    return value


def _binary(x0, x1, name):
    """Both operands as Tensors of one dtype (numbers take the tensor's dtype: see _for_number)."""
    x0, x1 = _plain(x0), _plain(x1)
    if not isinstance(x0, Tensor):
        x1 = _for_number(x1, x0)
        x0 = as_tensor(x0, x1)
    elif not isinstance(x1, Tensor):
        x0 = _for_number(x0, x1)
        x1 = as_tensor(x1, x0)
    if x0.data.dtype != x1.data.dtype:
        raise TypeError(f"{name}: dtypes differ ({x0.dtype} and {x1.dtype}); convert one with .to_dtype()")
    return x0, x1


def constant_like(array, like):
    """A mask or other constant array as a Tensor of `like`'s dtype (outside the graph)."""
    return Tensor(array.astype(like.data.dtype, copy=False))


# --------------------------------------------------------------------------- arithmetic

class Add(Function):
    """y = x0 + x1  ->  gx0 = gy,  gx1 = gy  (each summed back to its input's shape)"""
    reads_inputs = False

    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return sum_to(gy, x0.shape), sum_to(gy, x1.shape)


class Sub(Function):
    """y = x0 - x1  ->  gx0 = gy,  gx1 = -gy"""
    reads_inputs = False

    def forward(self, x0, x1):
        return x0 - x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return sum_to(gy, x0.shape), sum_to(-gy, x1.shape)


class Mul(Function):
    """y = x0 * x1  ->  gx0 = gy * x1,  gx1 = gy * x0"""

    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = sum_to(gy * x1, x0.shape) if self.needs_grad(0) else None
        gx1 = sum_to(gy * x0, x1.shape) if self.needs_grad(1) else None
        return gx0, gx1


class Div(Function):
    """y = x0 / x1  ->  gx0 = gy / x1,  gx1 = -gy * y / x1"""
    reads_output = True

    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = gy / x1
        gx1 = sum_to(-gx0 * self.output(), x1.shape) if self.needs_grad(1) else None
        return sum_to(gx0, x0.shape), gx1


class Neg(Function):
    """y = -x  ->  gx = -gy"""
    reads_inputs = False

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowConst(Function):
    """y = x ** c (c a number)  ->  gx = gy * c * x ** (c - 1)"""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** x.dtype.type(self.c)

    def backward(self, gy):
        x, = self.inputs
        if self.c == 2:
            return gy * (2 * x)
        return gy * (self.c * x ** (self.c - 1))


class Pow(Function):
    """y = x0 ** x1  ->  gx0 = gy * x1 * x0 ** (x1 - 1),  gx1 = gy * y * log(x0)"""
    reads_output = True

    def forward(self, x0, x1):
        return x0 ** x1

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = sum_to(gy * x1 * x0 ** (x1 - 1), x0.shape) if self.needs_grad(0) else None
        gx1 = sum_to(gy * self.output() * log(x0), x1.shape) if self.needs_grad(1) else None
        return gx0, gx1


class Affine(Function):
    """y = x * a + b for numbers a and b  ->  gx = gy * a

    Arithmetic with a Python number (x + 1, 2 * x, 1 - x) is this one op: the number is not a tensor of the
    graph, so nothing is converted and no gradient is computed for it.
    """
    reads_inputs = False

    def __init__(self, a, b):
        self.a, self.b = a, b

    def forward(self, x):
        if self.a == 1:
            return x + self.b
        y = x * self.a
        if self.b != 0:
            y += self.b
        return y

    def backward(self, gy):
        return gy if self.a == 1 else Affine(self.a, 0)(gy)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def add(x0, x1):
    x0, x1 = _plain(x0), _plain(x1)
    if _is_number(x1) and isinstance(x0, Tensor):
        return Affine(1, x1)(_for_number(x0, x1))
    if _is_number(x0) and isinstance(x1, Tensor):
        return Affine(1, x0)(_for_number(x1, x0))
    return Add()(*_binary(x0, x1, "add"))


def sub(x0, x1):
    x0, x1 = _plain(x0), _plain(x1)
    if _is_number(x1) and isinstance(x0, Tensor):
        return Affine(1, -x1)(_for_number(x0, x1))
    if _is_number(x0) and isinstance(x1, Tensor):
        return Affine(-1, x0)(_for_number(x1, x0))
    return Sub()(*_binary(x0, x1, "sub"))


def mul(x0, x1):
    x0, x1 = _plain(x0), _plain(x1)
    if _is_number(x1) and isinstance(x0, Tensor):
        return Affine(x1, 0)(_for_number(x0, x1))
    if _is_number(x0) and isinstance(x1, Tensor):
        return Affine(x0, 0)(_for_number(x1, x0))
    return Mul()(*_binary(x0, x1, "mul"))


def div(x0, x1):
    """True division: integers give float32 (see floating)."""
    x0, x1 = _binary(x0, x1, "div")
    return Div()(floating(x0), floating(x1))


def neg(x):
    return Neg()(x)


def pow(x, exponent):
    """x ** exponent, for a number or a tensor exponent."""
    exponent = _plain(exponent)
    if isinstance(exponent, (int, float)) and isinstance(x, Tensor):
        return PowConst(exponent)(_for_number(x, exponent))
    return Pow()(*_binary(x, exponent, "pow"))


# --------------------------------------------------------------------------- unary functions

class Exp(Function):
    """y = exp(x)  ->  gx = gy * y"""
    reads_inputs = False
    reads_output = True

    def forward(self, x):
        return backend.get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    """y = log(x)  ->  gx = gy / x"""

    def forward(self, x):
        return backend.get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x)  ->  gx = gy / (2 y)"""
    reads_inputs = False
    reads_output = True

    def forward(self, x):
        return backend.get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output())


class Abs(Function):
    """y = |x|  ->  gx = gy * sign(x)   (sign(0) = 0, as torch)"""

    def forward(self, x):
        return abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * constant_like(backend.get_array_module(x).sign(x), gy)


class Tanh(Function):
    """y = tanh(x)  ->  gx = gy * (1 - y**2)"""
    reads_inputs = False
    reads_output = True

    def forward(self, x):
        return backend.get_array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x))  ->  gx = gy * y * (1 - y)"""
    reads_inputs = False
    reads_output = True

    def forward(self, x):
        xp = backend.get_array_module(x)
        # exp(min(x, 0)) / (1 + exp(-|x|)): both exponents are <= 0, so nothing overflows, and for large
        # negative x the tiny result keeps its relative precision (1 - 1/(1 + e) would not).
        return xp.exp(xp.minimum(x, 0)) / (1 + xp.exp(-abs(x)))

    def backward(self, gy):
        y = self.output()
        return gy * (y * (1 - y))


class LeakyReLU(Function):
    """y = x if x > 0 else slope * x  ->  gx = gy * scale,  scale = 1 if x > 0 else slope

    A penalty walks the critic's graph twice: its grad() (create_graph) and then the loss's backward. The scale
    made on the first walk, which that walk's graph holds anyway, is kept and read again on the second."""
    scale = None

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return _rectify(x, self.slope)

    def backward(self, gy):
        x = self.inputs[0].data
        if is_grad_enabled():   # create_graph: the gradient is an op of gy; the scale, a constant, is kept
            if self.scale is None:
                self.scale = _rectifier_scale(x, self.slope)
            return gy * Tensor(self.scale)
        if self.scale is None:  # a plain backward: the gradient is made in the scale's own memory
            return Tensor(_rectifier_scale(x, self.slope, gy.data))
        scale, self.scale = self.scale, None   # the walk after a create_graph walk reads the scale, and lets it go
        return Tensor(_times(gy.data, scale))


class ReLU(LeakyReLU):
    """y = max(x, 0)  ->  gx = gy * [x > 0]   (a leaky ReLU of slope 0)"""

    def __init__(self):
        super().__init__(0.0)


def _rectify(x, slope):
    """max(x, slope x), which is the leaky ReLU for 0 <= slope <= 1: two fast passes (one for the ReLU), on
    every core."""
    xp = backend.get_array_module(x)
    if not 0 <= slope <= 1:
        return xp.where(x > 0, x, x * x.dtype.type(slope))
    y = xp.empty_like(x)

    def rectify(at):
        if slope == 0:   # the plain ReLU: one pass
            kernels.maximum_with(x[at], 0, y[at])
            return
        xp.multiply(x[at], x.dtype.type(slope), out=y[at])
        xp.maximum(x[at], y[at], out=y[at])
    _by_channels(x, rectify)
    return y


def _rectifier_scale(x, slope, gy=None):
    """scale = 1 where x > 0 and slope elsewhere: [x > 0] made in float, scaled and shifted in place, each pass on
    every core. Given `gy`, it is multiplied by it in place too, which makes the gradient itself in one array.
    (Under create_graph the scale is a constant, whose own derivative is zero, and the gradient an op of gy.)"""
    xp = backend.get_array_module(x)
    scale = xp.empty_like(x)

    def differentiate(at):
        xp.greater(x[at], 0, out=scale[at])          # 1 where x > 0, else 0 (nan included, as torch)
        if slope:
            scale[at] *= x.dtype.type(1 - slope)
            scale[at] += x.dtype.type(slope)         # 1 where x > 0, else slope
        if gy is not None:
            scale[at] *= gy[at]
    _by_channels(x, differentiate)
    return scale


def _times(a, b):
    """a * b for two arrays of one shape, on every core, laid out in memory as b."""
    xp = backend.get_array_module(a)
    out = xp.empty_like(b)

    def multiply(at):
        xp.multiply(a[at], b[at], out=out[at])
    _by_channels(b, multiply)
    return out


def _by_channels(x, work):
    """Call work(at) with index tuples `at` that together cover x, cut along axis 1 (channels, or an MLP's
    features) over the CPU's cores by kernels.over_channels: a pass over a large activation runs on all of them."""
    if x.ndim < 2:
        work((Ellipsis,))
    else:
        kernels.over_channels(x, lambda part: work((slice(None), part)), x.shape[1])


class Softplus(Function):
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))  ->  gx = gy * sigmoid(x)

    The second form never overflows: it is exact for logits of +-1e4, where exp(x) would be inf.
    """

    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class Clamp(Function):
    """y = min(max(x, lo), hi)  ->  gx = gy * [lo <= x <= hi]   (1 on the bounds, as torch)"""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return backend.get_array_module(x).clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = (x >= (-float("inf") if self.lo is None else self.lo))
        inside &= (x <= (float("inf") if self.hi is None else self.hi))
        return gy * constant_like(inside, gy)


def exp(x):
    return Exp()(floating(x))


def log(x):
    return Log()(floating(x))


def sqrt(x):
    return Sqrt()(floating(x))


def abs_(x):
    return Abs()(x)


def tanh(x):
    return Tanh()(floating(x))


def sigmoid(x):
    return Sigmoid()(floating(x))


def relu(x):
    return ReLU()(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU(negative_slope)(x)


def softplus(x):
    return Softplus()(floating(x))


def clamp(x, min=None, max=None):
    """Limit x to [min, max] (either may be None), as torch.clamp."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp(min, max)(x)


clip = clamp


# --------------------------------------------------------------------------- selection

class Maximum(Function):
    """y = max(x0, x1)  ->  the gradient goes to the larger input; on ties each gets gy / 2 (as torch)"""

    def forward(self, x0, x1):
        return backend.get_array_module(x0).maximum(x0, x1)

    def backward(self, gy):
        return _split_by_winner(self, gy, self.inputs[0].data > self.inputs[1].data)


class Minimum(Function):
    """y = min(x0, x1)  ->  the gradient goes to the smaller input; on ties each gets gy / 2 (as torch)"""

    def forward(self, x0, x1):
        return backend.get_array_module(x0).minimum(x0, x1)

    def backward(self, gy):
        return _split_by_winner(self, gy, self.inputs[0].data < self.inputs[1].data)


def _split_by_winner(f, gy, first_wins):
    x0, x1 = f.inputs
    xp = backend.get_array_module(gy.data)
    share0 = xp.where(x0.data == x1.data, 0.5, first_wins.astype(gy.data.dtype))
    gx0 = gy * constant_like(share0, gy)
    gx1 = gy * constant_like(1 - share0, gy)
    return sum_to(gx0, x0.shape), sum_to(gx1, x1.shape)


class Where(Function):
    """y = x0 where cond else x1  ->  gx0 = gy * cond,  gx1 = gy * (1 - cond)"""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, x0, x1):
        return backend.get_array_module(x0).where(self.condition, x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        take = constant_like(self.condition, gy)
        return sum_to(gy * take, x0.shape), sum_to(gy * (1 - take), x1.shape)


def maximum(x0, x1):
    return Maximum()(*_binary(x0, x1, "maximum"))


def minimum(x0, x1):
    return Minimum()(*_binary(x0, x1, "minimum"))


def where(condition, x0, x1):
    """Elementwise choice: x0 where `condition` is true, else x1 (as torch.where)."""
    x0, x1 = _binary(x0, x1, "where")
    condition = condition.data if isinstance(condition, Tensor) else condition
    if getattr(condition, "ndim", 0) and backend.device_of(condition) != x0.device:
        raise RuntimeError(f"where: the condition is on {backend.device_of(condition)}, the values on {x0.device}")
    condition = backend.get_array_module(x0.data).asarray(condition)  # a 0-d NumPy bool becomes an array here
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be a boolean array, got {condition.dtype}")
    return Where(condition)(x0, x1)


# --------------------------------------------------------------------------- dtype and randomness

class Cast(Function):
    """y = x as another float dtype  ->  gx = gy as x's dtype"""
    reads_inputs = False

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return to_dtype(gy, self.inputs[0].dtype)


def to_dtype(x, dtype):
    """x converted to `dtype` (an explicit cast; minigan never converts silently). A cast to an integer or
    bool dtype leaves the graph, as in torch: such a tensor has no gradient."""
    dtype = backend.check_dtype(dtype, "to_dtype")
    if x.dtype == dtype:
        return x
    if dtype.kind != "f":
        return Tensor(x.data.astype(dtype))
    return Cast(dtype)(x)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (inverted dropout)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    rng = backend.generators.for_device(x.device)
    keep = rng.random(x.shape, dtype=x.dtype) >= p
    return x * constant_like(keep * x.dtype.type(1 / (1 - p)), x)
