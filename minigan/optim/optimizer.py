"""The optimizer base: a list of parameters, per-parameter state, and state_dict / load_state_dict."""
import numpy

from minigan import backend
from minigan.nn.module import Parameter


class Optimizer:
    defaults = {}

    def __init__(self, params, **hyper):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter) and not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: parameter {i} does not require grad")
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown options {sorted(unknown)}")
        self.hyper = {**self.defaults, **hyper}
        self.state = [{} for _ in self.params]  # per parameter: named arrays (momentum buffers, moments)
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.steps += 1
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            if p.grad.shape != p.shape:
                raise RuntimeError(f"{type(self).__name__}: gradient shape {p.grad.shape} != parameter shape {p.shape}")
            self.update(p.data, p.grad.data, state)
            p.mark_modified()

    def update(self, param, grad, state):
        """Change the raw array `param` in place, given its gradient and its state dict."""
        raise NotImplementedError

    # ---- state

    def state_dict(self):
        """{"hyper": options, "steps": int, "state": [{name: array}, ...]} (arrays on the CPU)."""
        return {"hyper": dict(self.hyper), "steps": self.steps,
                "state": [{k: backend.as_numpy(v) for k, v in s.items()} for s in self.state]}

    def check_state_dict(self, state):
        name = type(self).__name__
        for key in ("hyper", "steps", "state"):
            if key not in state:
                raise KeyError(f"{name}.load_state_dict: the state has no '{key}' entry")
        if len(state["state"]) != len(self.params):
            raise ValueError(f"{name}.load_state_dict: the state is for {len(state['state'])} parameters, "
                             f"this optimizer has {len(self.params)}")
        for i, (p, s) in enumerate(zip(self.params, state["state"])):
            for k, v in s.items():
                if tuple(v.shape) != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state '{k}' of parameter {i} has shape "
                                     f"{tuple(v.shape)}, the parameter has {p.shape}")

    def load_state_dict(self, state):
        self.check_state_dict(state)
        self.hyper = {**self.defaults, **state["hyper"]}
        self.steps = int(state["steps"])
        self.state = [{k: backend.to_device(numpy.array(v, dtype=p.dtype), p.device) for k, v in s.items()}
                      for p, s in zip(self.params, state["state"])]
