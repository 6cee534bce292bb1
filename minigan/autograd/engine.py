"""Reverse-mode differentiation: walking the graph from the outputs back to the leaves.

Rules of the walk, each written where it acts below:
  * Functions run in order of decreasing generation. A function's output may feed several later functions;
    its gradient is complete only when all of them have run, and they all have higher generations.
    A heap keyed on the generation gives that order without recursion (a chain of 100,000 ops is fine).
  * Gradients are added out of place (`total = total + gx`), never with `+=`: a gradient tensor may be
    shared with the graph of another gradient (create_graph=True), and must not change under it.
  * `backward()` accumulates into the leaves' `.grad` until they are zeroed, as in PyTorch.
  * Without `create_graph`, backward runs with recording off (it costs what a hand-written backward costs)
    and, without `retain_graph`, each function drops its inputs once it has run, freeing the graph.
"""
import heapq

from minigan import backend
from minigan.autograd.tensor import Tensor, _Mode, check_finite, set_grad_enabled


def _initial_grad(output, grad, caller="backward", argument="grad"):
    """The gradient that starts the walk from `output`: `grad` checked against it, or ones for a one-element
    output. `caller` and `argument` name the function and its parameter in a refusal (backward's grad=,
    grad()'s grad_outputs=)."""
    if grad is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"{caller}: {argument} can be left out only for a one-element output; this output has shape "
                f"{output.shape}, so pass {argument}= of that shape")
        xp = backend.get_array_module(output.data)
        return Tensor(xp.ones_like(output.data))
    if not isinstance(grad, Tensor):
        grad = Tensor(grad)
    if grad.shape != output.shape:
        raise ValueError(f"{caller}: {argument} has shape {grad.shape} but the output has shape {output.shape}")
    if grad.dtype != output.dtype:
        raise TypeError(f"{caller}: {argument} has dtype {grad.dtype} but the output has dtype {output.dtype}")
    return grad


def _walk(outputs, grads, retain_graph, create_graph, wanted=None):
    """Propagate `grads` from `outputs` to the leaves.

    With `wanted` (a set of tensor ids) the gradients of those tensors are returned in a dict and no `.grad`
    is touched; without it, every leaf that requires a gradient accumulates into `.grad`.
    """
    found = {}
    reaching = None if wanted is None else _reaching(outputs, wanted)
    pending = {}   # function -> gradient of its output, summed so far
    outputs_of = {}  # function -> its output, held here so that backward can still read it (see below)
    heap = []      # (-generation, tie-breaker, function)
    seen = set()

    def deliver(x, gx):
        if wanted is not None and id(x) in wanted and x.creator is None:
            found[id(x)] = gx if id(x) not in found else found[id(x)] + gx
        f = x.creator
        if f is None:
            if wanted is None:
                x.grad = gx if x.grad is None else x.grad + gx
            return
        pending[f] = gx if f not in pending else pending[f] + gx
        if f not in seen:
            # A function refers to its output weakly (a strong link would make a cycle with output.creator).
            # Freeing the graph as we go could drop the last other reference to an output whose backward
            # reads it (tanh, exp, sigmoid use y), so the walk holds each output until its function has run.
            outputs_of[f] = x
            seen.add(f)
            heapq.heappush(heap, (-f.generation, len(seen), f))

    for output, grad in zip(outputs, grads):
        if output.requires_grad:
            deliver(output, grad)

    with set_grad_enabled(create_graph):
        while heap:
            _, _, f = heapq.heappop(heap)
            gy = pending.pop(f)
            y = outputs_of.pop(f)
            if f.inputs is None:
                raise RuntimeError(
                    f"backward through {type(f).__name__} a second time: its graph was freed by the first "
                    "backward. Pass retain_graph=True to the first call if you need to go through it twice.")
            if wanted is not None and id(y) in wanted:
                found[id(y)] = gy
            f.check_versions()
            f.needs_input_grad = None if reaching is None else tuple(id(x) in reaching for x in f.inputs)
            try:
                gxs = f.backward(gy)
            except FloatingPointError as error:  # raised by detect_anomaly inside this backward
                raise FloatingPointError(f"in {type(f).__name__}.backward: {error}") from None
            if type(gxs) is not tuple:
                gxs = tuple(gxs) if isinstance(gxs, list) else (gxs,)
            inputs = f.inputs
            if len(gxs) != len(inputs):
                raise RuntimeError(f"{type(f).__name__}.backward returned {len(gxs)} gradient(s) for {len(inputs)} "
                                   "input(s); return one per input, None for an input that needs none")
            if not retain_graph:
                f.inputs = None
            for x, gx in zip(inputs, gxs):
                if gx is not None and x.requires_grad:
                    if type(gx) is not Tensor and not isinstance(gx, Tensor):   # a Function of the user's own
                        raise TypeError(f"{type(f).__name__}.backward returned a {type(gx).__name__} for an "
                                        "input; return Tensors made from gy and self.inputs by minigan's ops, so "
                                        "that they have a backward too")
                    if gx.shape != x.shape:  # a bug in an op's backward: say which op
                        raise RuntimeError(f"{type(f).__name__}.backward returned a gradient of shape "
                                           f"{gx.shape} for an input of shape {x.shape}")
                    if _Mode.anomaly:
                        check_finite(gx.data, f"the gradient that {type(f).__name__}.backward returned for its input "
                                              f"of shape {x.shape}")
                    deliver(x, gx)
    return found


def _reaching(outputs, wanted):
    """The ids of the tensors in the graph of `outputs` through which some tensor of `wanted` is reached
    (the wanted ones included): the only ones whose gradients grad() needs."""
    reaching, visited = set(), set()
    stack = [(t, False) for t in outputs]
    while stack:   # depth first, without recursion (a graph may be thousands of ops deep)
        t, inputs_done = stack.pop()
        f = t.creator
        if inputs_done:
            if any(id(x) in reaching for x in f.inputs):
                reaching.add(id(t))
            continue
        if id(t) in wanted:
            reaching.add(id(t))
        if f is None or id(t) in visited or f.inputs is None:
            visited.add(id(t))
            continue
        visited.add(id(t))
        stack.append((t, True))
        stack.extend((x, False) for x in f.inputs if id(x) not in visited)
    return reaching


def backward(output, grad=None, retain_graph=False, create_graph=False):
    """Accumulate d(output)/d(leaf) . grad into `.grad` of every leaf that requires a gradient."""
    if not output.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph "
                           "(was it computed under no_grad(), or from inputs with requires_grad=False?)")
    _walk([output], [_initial_grad(output, grad)], retain_graph or create_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of `outputs` with respect to `inputs`, returned as a tuple (as torch.autograd.grad).

    Nothing is accumulated into `.grad`. With create_graph=True the returned gradients carry a graph of
    their own, so they can be differentiated again (gradient penalties, second derivatives).
    """
    single_output = isinstance(outputs, Tensor)
    outputs = [outputs] if single_output else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) does not require grad")
    for i, y in enumerate(outputs):
        if not y.requires_grad:
            raise RuntimeError(f"grad: output {i} (shape {y.shape}) does not require grad and has no graph")
    if retain_graph is None:
        retain_graph = create_graph
    grads = [_initial_grad(y, g, "grad", "grad_outputs") for y, g in zip(outputs, grad_outputs)]
    found = _walk(outputs, grads, retain_graph, create_graph, wanted={id(x) for x in inputs})
    result = []
    for i, x in enumerate(inputs):
        gx = found.get(id(x))
        if gx is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
        result.append(gx)
    return tuple(result)
