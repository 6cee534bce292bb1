"""The optimizer base: a list of parameters, per-parameter state, and state_dict / load_state_dict.

Each optimizer checks its hyperparameters in one place, `check_hyper`, which both its constructor and
`load_state_dict` call: a state read from a file is held to the same rules as one made in code.
"""
import numpy

from minigan import backend
from minigan.backend import is_number
from minigan.autograd.tensor import Tensor
from minigan.messages import shown
from minigan.nn.module import Parameter, zero_grads


def check_number(optimizer, name, value):
    if not is_number(value) or value < 0:
        raise ValueError(f"{optimizer}: {name} must be a finite number, 0 or more, got {shown(value)}")


class Optimizer:
    defaults = {}

    def __init__(self, params, **hyper):
        name = type(self).__name__
        if isinstance(params, Tensor):   # iterating it would give its rows, views that no gradient reaches
            raise TypeError(f"{name}: params must be an iterable of tensors (model.parameters(), or [tensor]); "
                            "got one tensor")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a tensor")
            if not isinstance(p, Parameter) and not p.requires_grad:
                raise TypeError(f"{name}: parameter {i} does not require grad")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} was computed by an op, so backward gives it no .grad; "
                                 "an optimizer updates leaf tensors (a Parameter, or minigan.tensor(..., "
                                 "requires_grad=True))")
            if any(p is q for q in self.params[:i]):
                raise ValueError(f"{name}: parameter {i} appears twice in the list (it would be "
                                 "updated twice per step)")
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise TypeError(f"{name}: unknown options {sorted(unknown)}")
        self.hyper = self.check_hyper(**{**self.defaults, **hyper})
        self.state = [{} for _ in self.params]  # per parameter: named arrays (momentum buffers, moments)
        self.steps = 0

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (None), or with set_to_none=False make it zeros, as torch."""
        zero_grads(self.params, set_to_none)

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

    @staticmethod
    def check_hyper(**hyper):
        """The hyperparameters, checked (raising ValueError naming the one that is wrong)."""
        return hyper

    def state_names(self, hyper):
        """The names of the arrays a parameter's state holds once it has been updated."""
        return set()

    # ---- state

    def state_dict(self):
        """{"hyper": options, "steps": int, "state": [{name: array}, ...]} (arrays on the CPU)."""
        return {"hyper": dict(self.hyper), "steps": self.steps,
                "state": [{k: backend.as_numpy(v) for k, v in s.items()} for s in self.state]}

    def check_state_dict(self, state):
        name = type(self).__name__
        if not isinstance(state, dict):
            raise TypeError(f"{name}.load_state_dict: the state is a {type(state).__name__}, not a dict")
        for key in ("hyper", "steps", "state"):
            if key not in state:
                raise KeyError(f"{name}.load_state_dict: the state has no '{key}' entry")
        if not isinstance(state["hyper"], dict) or set(state["hyper"]) != set(self.defaults):
            raise ValueError(f"{name}.load_state_dict: 'hyper' must name {sorted(self.defaults)}, "
                             f"got {shown(state['hyper'])}")
        self.check_hyper(**state["hyper"])
        if type(state["steps"]) is not int or state["steps"] < 0:
            raise ValueError(f"{name}.load_state_dict: 'steps' must be a whole number, 0 or more, "
                             f"got {shown(state['steps'])}")
        if not isinstance(state["state"], list) or not all(isinstance(s, dict) for s in state["state"]):
            raise ValueError(f"{name}.load_state_dict: 'state' must be a list of dicts of arrays")
        if len(state["state"]) != len(self.params):
            raise ValueError(f"{name}.load_state_dict: the state is for {len(state['state'])} parameters, "
                             f"this optimizer has {len(self.params)}")
        names = self.state_names(state["hyper"])
        for i, (p, s) in enumerate(zip(self.params, state["state"])):
            if s and (set(s) != names or state["steps"] == 0):
                raise ValueError(f"{name}.load_state_dict: the state of parameter {i} holds {sorted(s)} at step "
                                 f"{state['steps']}; expected {sorted(names)} after a first step")
            for k, v in s.items():
                if not isinstance(v, numpy.ndarray) or v.dtype.kind != "f":
                    raise TypeError(f"{name}.load_state_dict: state '{k}' of parameter {i} is not a float array")
                if tuple(v.shape) != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state '{k}' of parameter {i} has shape "
                                     f"{tuple(v.shape)}, the parameter has {p.shape}")

    def load_state_dict(self, state):
        self.check_state_dict(state)
        self.hyper = self.check_hyper(**state["hyper"])
        self.steps = int(state["steps"])
        self.state = [{k: backend.to_device(numpy.array(v, dtype=p.dtype), p.device) for k, v in s.items()}
                      for p, s in zip(self.params, state["state"])]
