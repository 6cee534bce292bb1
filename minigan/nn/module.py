"""Module and Parameter: the containers models are built from, with PyTorch's conventions.

A Module registers what is assigned to it: a Parameter becomes a parameter, a Module a child, and
`register_buffer` names a tensor that is state but not trained (batch norm's running statistics).
Names are dotted paths ("main.0.weight"), as in a PyTorch state dict.
"""
from collections import OrderedDict

import numpy

from minigan import backend
from minigan.autograd.tensor import Tensor, no_grad


class Parameter(Tensor):
    """A Tensor that a Module trains: requires_grad is on from the start."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: subclasses set attributes in __init__ and write forward()."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor):
        """Keep `tensor` as state (saved in state_dict, moved by to()) that is not a trained parameter."""
        object.__setattr__(self, name, tensor)
        self._buffers[name] = tensor

    # ---- walking the tree

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def children(self):
        return iter(self._modules.values())

    def _named(self, table, remove_duplicate):
        """(path, tensor) for each tensor in every module's `table` (_parameters or _buffers); a tensor that two
        modules share is given once, under its first path, unless remove_duplicate is False (as torch)."""
        seen = set()
        for path, module in self.named_modules():
            for name, t in getattr(module, table).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{path}.{name}" if path else name), t

    def named_parameters(self, remove_duplicate=True):
        return self._named("_parameters", remove_duplicate)

    def parameters(self):
        """Each parameter once, also one shared by two layers (an optimizer would refuse it twice)."""
        return (p for _, p in self.named_parameters())

    def named_buffers(self, remove_duplicate=True):
        return self._named("_buffers", remove_duplicate)

    def buffers(self):
        return (b for _, b in self.named_buffers())

    # ---- modes and gradients

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (None), or with set_to_none=False make it zeros, as torch."""
        zero_grads(self.parameters(), set_to_none)

    def requires_grad_(self, requires_grad=True):
        """Switch gradients of every parameter on or off, as torch (gan.training.frozen does it for a block)."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn):
        """Call fn on every submodule, then on this one, as torch (`G.apply(weights_init)` in PyTorch's DCGAN
        example; minigan's own is gan.models.dcgan_init_)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    # ---- devices and dtypes

    def to(self, device=None, dtype=None):
        """Move every parameter and buffer to `device` and/or convert floats to `dtype`, in place
        (the Parameter objects stay the same, so optimizers made before still hold them)."""
        if device is not None:
            backend.check_device(device)
        for t in list(self.parameters()) + list(self.buffers()):
            data = t.data if device is None else backend.to_device(t.data, device)
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            t.data = data
            t.mark_modified()
            t.grad = None
        return self

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    # ---- state

    def state_dict(self):
        """An ordered dict of name -> Tensor for every parameter and buffer (the live tensors), a shared one under
        each of its names."""
        state = OrderedDict(self.named_parameters(remove_duplicate=False))
        state.update(self.named_buffers(remove_duplicate=False))
        return state

    def check_state_dict(self, state, strict=True):
        """Raise, naming the entry, if `state` does not fit this module; change nothing."""
        own = self.state_dict()
        if strict:
            missing = [k for k in own if k not in state]
            unexpected = [k for k in state if k not in own]
            if missing or unexpected:
                raise KeyError(f"{type(self).__name__}.load_state_dict: missing entries {missing}, "
                               f"unexpected entries {unexpected}")
        for name, value in state.items():
            if name not in own:
                continue
            if not hasattr(value, "shape") or not hasattr(value, "dtype"):
                raise TypeError(f"{type(self).__name__}.load_state_dict: '{name}' is a {type(value).__name__}, "
                                "not an array")
            shape = tuple(value.shape)
            if shape != own[name].shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: '{name}' has shape {shape} in the "
                                 f"state but {own[name].shape} in the model")
            if numpy.dtype(value.dtype) != own[name].dtype:
                raise TypeError(f"{type(self).__name__}.load_state_dict: '{name}' has dtype {value.dtype} in "
                                f"the state but {own[name].dtype} in the model")

    def load_state_dict(self, state, strict=True):
        """Copy `state` (name -> array or Tensor) into this module's tensors; all-or-nothing."""
        self.check_state_dict(state, strict)
        own = self.state_dict()
        with no_grad():
            for name, value in state.items():
                if name in own:
                    array = value.data if isinstance(value, Tensor) else value
                    own[name].copy_(backend.to_device(array, own[name].device))
        return self

    # ---- printing

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        if len(lines) == 1:
            return lines[0] + ")"
        return "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules whose parameters are registered."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index):
        return list(self._modules.values())[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another."""

    def __init__(self, *modules):
        super().__init__(modules)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


def zero_grads(params, set_to_none=True):
    """Each tensor's gradient forgotten (None), or made zeros with set_to_none=False, as torch's zero_grad."""
    if type(set_to_none) is not bool:
        raise TypeError(f"zero_grad: set_to_none must be True or False, got {set_to_none!r}")
    for p in params:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad = Tensor(backend.get_array_module(p.grad.data).zeros_like(p.grad.data))
