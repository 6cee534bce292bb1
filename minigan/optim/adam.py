"""Adam (Kingma and Ba, 2015), with weight decay and the AMSGrad variant, as torch.optim.Adam.

    g = grad + weight_decay * p
    m = beta1 * m + (1 - beta1) * g                 v = beta2 * v + (1 - beta2) * g**2
    v_max = max(v_max, v)  (amsgrad; then v_max is used for v below)
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

The per-parameter arithmetic is one kernel (minigan.kernels.adam_update): on a GPU a single fused launch.
"""
import math

from minigan import kernels
from minigan.backend import get_array_module, is_number
from minigan.messages import shown
from minigan.optim.optimizer import Optimizer, check_number


class Adam(Optimizer):
    defaults = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    @staticmethod
    def check_hyper(lr, betas, eps, weight_decay, amsgrad):
        for name, value in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            check_number("Adam", name, value)
        if not isinstance(betas, (list, tuple)) or len(betas) != 2 or not all(
                is_number(b) and 0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {shown(betas)}")
        if type(amsgrad) is not bool:
            raise ValueError(f"Adam: amsgrad must be true or false, got {shown(amsgrad)}")
        return {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad}

    def state_names(self, hyper):
        return {"exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if hyper["amsgrad"] else set())

    def update(self, param, grad, state):
        h = self.hyper
        if "exp_avg" not in state:
            xp = get_array_module(param)
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if h["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        beta1, beta2 = h["betas"]
        kernels.adam_update(
            param, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
            lr=h["lr"], beta1=beta1, beta2=beta2, eps=h["eps"], weight_decay=h["weight_decay"],
            bias_correction1=1 - beta1 ** self.steps, sqrt_bias_correction2=math.sqrt(1 - beta2 ** self.steps))
