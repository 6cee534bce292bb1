"""RMSProp (Tieleman and Hinton, 2012), with momentum, the centred variant and weight decay, as
torch.optim.RMSprop. The optimizer of the original Wasserstein GAN (Arjovsky et al., 2017), whose critic
Adam's momentum made unstable.

    g = grad + weight_decay * p
    v = alpha * v + (1 - alpha) * g**2                     (a running mean of the squared gradient)
    centred: a = alpha * a + (1 - alpha) * g,  v_hat = v - a**2   (a variance rather than a second moment)
    step = g / (sqrt(v_hat or v) + eps)
    momentum: buf = momentum * buf + step,  p = p - lr * buf;   otherwise p = p - lr * step
"""
from minigan.backend import get_array_module
from minigan.messages import shown
from minigan.optim.optimizer import Optimizer, check_number


class RMSprop(Optimizer):
    defaults = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered)

    @staticmethod
    def check_hyper(lr, alpha, eps, weight_decay, momentum, centered):
        for name, value in (("lr", lr), ("alpha", alpha), ("eps", eps), ("weight_decay", weight_decay),
                            ("momentum", momentum)):
            check_number("RMSprop", name, value)
        if alpha > 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {shown(alpha)}")
        if type(centered) is not bool:
            raise ValueError(f"RMSprop: centered must be true or false, got {shown(centered)}")
        return {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum,
                "centered": centered}

    def state_names(self, hyper):
        return ({"square_avg"} | ({"momentum_buffer"} if hyper["momentum"] else set())
                | ({"grad_avg"} if hyper["centered"] else set()))

    def update(self, param, grad, state):
        h = self.hyper
        xp = get_array_module(param)
        if "square_avg" not in state:
            state.update({name: xp.zeros_like(param) for name in self.state_names(h)})
        if h["weight_decay"]:
            grad = grad + param.dtype.type(h["weight_decay"]) * param
        alpha = param.dtype.type(h["alpha"])
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        if h["centered"]:
            a = state["grad_avg"]
            a *= alpha
            a += (1 - alpha) * grad
            denominator = xp.sqrt(v - a * a)
        else:
            denominator = xp.sqrt(v)
        denominator += param.dtype.type(h["eps"])
        step = grad / denominator
        if h["momentum"]:
            buf = state["momentum_buffer"]
            buf *= param.dtype.type(h["momentum"])
            buf += step
            step = buf
        param -= param.dtype.type(h["lr"]) * step
