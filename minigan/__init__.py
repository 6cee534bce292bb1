"""minigan: a reverse-mode autograd engine on NumPy (CuPy on a GPU), and the GANs built on it."""
from minigan import machine  # noqa: F401  (first: it tunes the process before NumPy loads; see machine.py)
from minigan.backend import get_rng_state, gpu_available, manual_seed, set_rng_state
from minigan.autograd import (
    Function, Tensor, backward, check_finite, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled, tensor)
from minigan.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from minigan.ops import *  # noqa: F401,F403  (the differentiable functions, torch-style names)
from minigan.ops import abs_ as abs  # noqa: F401
from minigan import nn, optim, viz
from minigan.checkpoint import CheckpointError, load, save
from minigan.creation import arange, empty, full, ones, ones_like, rand, randn, zeros, zeros_like

__version__ = "0.1.0"
float32 = "float32"
float64 = "float64"
