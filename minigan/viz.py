"""Drawing the computational graph behind a tensor, as Graphviz DOT (rendered to PNG where `dot` exists).

    dot = minigan.viz.graph(loss, params=dict(model.named_parameters()))
    minigan.viz.render(loss, "graph.png", params=...)

Boxes are Functions (the ops), ellipses are tensors: leaves that require a gradient in blue (named when
`params` names them), intermediate results in white, the tensor drawn from in yellow. Draw before calling
backward: a backward without retain_graph frees the links it walks.
"""
import os
import shutil
import subprocess
import warnings

from minigan import files
from minigan.autograd.tensor import Tensor


def _shape(t):
    return "x".join(map(str, t.shape)) or "scalar"


def graph(tensor, params=None, title=None):
    """The graph behind `tensor` as DOT text."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph: expected a minigan Tensor, not {type(tensor).__name__}")
    names = {id(p): name for name, p in (params or {}).items()}
    lines = ["digraph minigan {", '  rankdir=BT; node [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f'  labelloc="t"; label="{title}";')
    seen, stack = set(), [tensor]

    def tensor_node(t):
        if id(t) in seen:
            return
        seen.add(id(t))
        label = f"{names[id(t)]}\\n{_shape(t)}" if id(t) in names else _shape(t)
        fill = "#fff2a8" if t is tensor else "#cfe2ff" if t.creator is None and t.requires_grad else "white"
        lines.append(f'  t{id(t)} [label="{label}", shape=ellipse, style=filled, fillcolor="{fill}"];')

    while stack:
        t = stack.pop()
        tensor_node(t)
        f = t.creator
        if f is None or id(f) in seen:
            if f is not None:
                lines.append(f"  f{id(f)} -> t{id(t)};")
            continue
        seen.add(id(f))
        lines.append(f'  f{id(f)} [label="{type(f).__name__}", shape=box, style="rounded,filled", fillcolor="#e8e8e8"];')
        lines.append(f"  f{id(f)} -> t{id(t)};")
        for x in f.inputs or ():
            tensor_node(x)
            lines.append(f"  t{id(x)} -> f{id(f)};")
            if x.creator is not None:
                stack.append(x)
    lines.append("}")
    return "\n".join(dict.fromkeys(lines))  # an edge reached twice is drawn once


def render(tensor, path, params=None, title=None):
    """Write the graph as DOT to path.dot and, where Graphviz's `dot` is installed, as an image to `path`.
    Returns the image path, or None when only the DOT file could be written (after a warning that says so
    and how to get Graphviz). The ending of `path` names the picture's format (.png, .svg, .pdf, ...)."""
    stem, _, fmt = path.rpartition(".")
    if not stem or not fmt or "/" in fmt or os.sep in fmt:
        raise ValueError(f"render: {path!r} has no ending to name the picture's format; name it like graph.png")
    text = graph(tensor, params, title)
    dot_path = stem + ".dot"
    with files.atomic_write(dot_path, "w") as f:
        f.write(text)
    if shutil.which("dot") is None:
        warnings.warn(f"Graphviz's dot is not installed, so {path} was not drawn; the graph is in {dot_path} "
                      "(install Graphviz, e.g. apt-get install graphviz, then: dot -Tpng "
                      f"{dot_path} -o {path})", stacklevel=2)
        return None
    with files.atomic_write(path) as f:   # dot's output, whole or not at all like every file minigan writes
        done = subprocess.run(["dot", f"-T{fmt}", dot_path], stdout=f, stderr=subprocess.PIPE)
        if done.returncode:   # an ending dot has no format for: its message lists the ones it has
            said = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
            raise ValueError(f"render: Graphviz's dot could not write {path}: {said}; the graph is in {dot_path}")
    return path
