"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (as torch.optim.SGD).

    g = grad + weight_decay * p
    buf = g (first step),  then  buf = momentum * buf + (1 - dampening) * g
    g = g + momentum * buf (nesterov)  or  g = buf
    p = p - lr * g
"""
from minigan.messages import shown
from minigan.optim.optimizer import Optimizer, check_number


class SGD(Optimizer):
    defaults = {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov)

    @staticmethod
    def check_hyper(lr, momentum, dampening, weight_decay, nesterov):
        for name, value in (("lr", lr), ("momentum", momentum), ("dampening", dampening),
                            ("weight_decay", weight_decay)):
            check_number("SGD", name, value)
        if type(nesterov) is not bool:
            raise ValueError(f"SGD: nesterov must be true or false, got {shown(nesterov)}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        return {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                "nesterov": nesterov}

    def state_names(self, hyper):
        return {"momentum_buffer"} if hyper["momentum"] else set()

    def update(self, param, grad, state):
        h = self.hyper
        if h["weight_decay"]:
            grad = grad + h["weight_decay"] * param
        if h["momentum"]:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= h["momentum"]
                buf += (1 - h["dampening"]) * grad
            buf = state["momentum_buffer"]
            grad = grad + h["momentum"] * buf if h["nesterov"] else buf
        param -= h["lr"] * grad
