"""Matrix products: matmul and the affine map of a linear layer."""
from minigan.autograd.tensor import Function
from minigan.ops.broadcast import sum_to
from minigan.ops.shapes import transpose


def _swap_last(x):
    return transpose(x, -1, -2)


class MatMul(Function):
    """y = x @ W  ->  gx = gy @ W.T,  gW = x.T @ gy   (.T swaps the last two axes; batch axes broadcast)"""

    def forward(self, x, W):
        return x @ W

    def backward(self, gy):
        x, W = self.inputs
        gx = sum_to(gy @ _swap_last(W), x.shape) if self.needs_grad(0) else None
        gW = sum_to(_swap_last(x) @ gy, W.shape) if self.needs_grad(1) else None
        return gx, gW


def matmul(x0, x1):
    """The matrix product of the last two axes, broadcast over the others (both inputs at least 2-D)."""
    if x0.ndim < 2 or x1.ndim < 2:
        raise ValueError(f"matmul: both inputs must have at least 2 dims, got shapes {x0.shape} and {x1.shape}; "
                         "use unsqueeze to make a vector a matrix")
    if x0.shape[-1] != x1.shape[-2]:
        raise ValueError(f"matmul: shapes {x0.shape} and {x1.shape} do not chain "
                         f"({x0.shape[-1]} != {x1.shape[-2]})")
    if x0.dtype != x1.dtype:
        raise TypeError(f"matmul: dtypes differ ({x0.dtype} and {x1.dtype})")
    return MatMul()(x0, x1)


class Linear(Function):
    """y = x @ W.T + b  (W: (out, in), as torch)  ->  gx = gy @ W,  gW = gy.T @ x,  gb = sum_n gy"""

    def forward(self, x, W, b=None):
        y = x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, W = self.inputs[:2]
        gx = gy @ W if self.needs_grad(0) else None
        gW = _swap_last(gy) @ x if self.needs_grad(1) else None
        if len(self.inputs) == 2:
            return gx, gW
        return gx, gW, sum_to(gy, self.inputs[2].shape)


def linear(x, weight, bias=None):
    """x @ weight.T + bias for x of shape (n, in), as torch.nn.functional.linear."""
    if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape} "
                         "(expected input (n, in) and weight (out, in))")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},)")
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} differs from weight dtype {weight.dtype}")
    return Linear()(x, weight) if bias is None else Linear()(x, weight, bias)
