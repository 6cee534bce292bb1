"""Autograd: Tensor, Function, the backward walk, and the public gradient checker."""
from minigan.autograd.engine import backward, grad
from minigan.autograd.tensor import (
    Function, Tensor, as_tensor, check_finite, detect_anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, tensor)
