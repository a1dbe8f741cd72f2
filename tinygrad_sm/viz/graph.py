"""Collect a computation graph and write it as DOT text (no Graphviz needed here).

The graph of ``root`` is every tensor and op node it was computed from: tensors point to
the op that made them (``grad_fn``), ops point to their ``inputs``. A drawing has one
node per tensor and per op, and one edge per (input -> op) and per (op -> output):

    x ──► matmul ──► (4, 3) ──► add ──► ... ──► loss
    W ──┘                b ──┘

Node ids are sequential in the order of an iterative depth-first walk from the root
(``n0`` is the root), never ``id()``, so the same graph always gives the same DOT text.
Values are summarised only for the nodes that end up drawn, so folding a big graph
(``max_nodes``) also keeps drawing it cheap.
"""

from __future__ import annotations

import html
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_sm.core.function import Function
from tinygrad_sm.core.released import Released, live
from tinygrad_sm.core.tensor import Tensor

# Fill colours (Material palette, light shades so that black text stays readable).
COLORS = {
    "param": "#c8e6c9",  # green: trainable leaves
    "input": "#bbdefb",  # blue: data fed in
    "const": "#eeeeee",  # grey: scalar constants (e.g. the 1/n of a mean)
    "tensor": "#ffffff",  # white: intermediate results
    "output": "#e1bee7",  # purple: what was drawn from (the loss)
    "op": "#fff59d",  # yellow: operations
    "module": "#d7ccc8",  # brown-grey: a collapsed submodule
    "fold": "#f5f5f5",  # light grey: nodes folded away by max_nodes
    "bad": "#ff8a80",  # red: nan or inf in data or gradient; ops marked as wrong
    "warn": "#ffcc80",  # orange: exploding or vanishing gradient
}
HIGHLIGHT = "#1565c0"  # blue: the paths from the output back to ``highlight``
CURRENT = "#d81b60"  # magenta: the op that backward is processing (backward_frames)
CLUSTER_FILL, CLUSTER_LINE = "#f4f6f8", "#90a4ae"
NO_GRAD_EDGE = "#b0bec5"
GRAPH_NAME = "computation_graph"  # the SVG's <title>

Node = Tensor | Function


# -- collecting ----------------------------------------------------------------------------


@dataclass
class Graph:
    """Tensors and op nodes reachable from the roots, in a stable order.

    ``preds[i]`` lists the positions of node i's predecessors: for an op its inputs (in
    argument order, repeated if an input is used twice, as in ``x * x``), for a tensor
    the op that produced it (or nothing for a leaf)."""

    nodes: list[Node]
    preds: list[list[int]]
    index: dict[int, int]  # id(node) -> position; the nodes list keeps the objects alive
    roots: list[int]
    succs: list[list[int]] = field(default_factory=list)  # the consumers of each node

    def __post_init__(self) -> None:
        if not self.succs:
            self.succs = [[] for _ in self.nodes]
            for u, v in self.edges():
                self.succs[u].append(v)

    def pos(self, obj: Any) -> int | None:
        return self.index.get(id(obj))

    def edges(self) -> list[tuple[int, int]]:
        """(u, v) for each edge u -> v, in node order then argument order."""
        return [(u, v) for v, ps in enumerate(self.preds) for u in ps]


def collect(roots: Tensor | Sequence[Tensor]) -> Graph:
    """Walk the graph from ``roots`` (iteratively: graphs can be millions of ops deep)."""
    roots = [roots] if isinstance(roots, Tensor) else list(roots)
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"draw_graph: expected a Tensor to draw from, got {type(r).__name__}")
    nodes: list[Node] = []
    index: dict[int, int] = {}
    stack: list[Node] = list(reversed(roots))
    while stack:
        obj = stack.pop()
        if id(obj) in index:
            continue
        index[id(obj)] = len(nodes)
        nodes.append(obj)
        if isinstance(obj, Tensor):
            if obj.grad_fn is not None:
                stack.append(obj.grad_fn)
        else:  # (after backward: the tensors the user still holds, not their stand-ins)
            stack.extend(reversed([live(t) for t in obj.inputs]))
    preds = []
    for obj in nodes:
        if isinstance(obj, Tensor):
            preds.append([] if obj.grad_fn is None else [index[id(obj.grad_fn)]])
        else:
            preds.append([index[id(live(t))] for t in obj.inputs])
    return Graph(nodes, preds, index, [index[id(r)] for r in roots])


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor that requires grad and that the roots depend on, in the order the
    backward walk reaches them: outputs first, the leaves last."""
    # The walk takes ops newest first (by Function.seq, as PyTorch's sequence_nr), and an
    # op's inputs exist before it runs; so sorting the ops' outputs by that number, newest
    # first, is the walk's order. Finding the tensors is a plain search with an explicit
    # stack: no recursion.
    found = {r for r in roots if r.requires_grad}
    stack = list(found)
    while stack:
        fn = stack.pop().grad_fn
        if fn is not None:
            for inp in fn.inputs:
                if inp.requires_grad and inp not in found:
                    found.add(inp)
                    stack.append(inp)
    leaves = [t for t in found if t.grad_fn is None]
    found.difference_update(leaves)
    return sorted(found, key=lambda t: t.grad_fn.seq, reverse=True) + leaves


def backward_op_order(roots: Sequence[Tensor]) -> list[Function]:
    """The op nodes in the order backward calls them (``topological_order``)."""
    return [t.grad_fn for t in topological_order([r for r in roots if r.requires_grad])
            if t.grad_fn is not None]


# -- formatting ------------------------------------------------------------------------------


def _num(v: float, digits: int = 4) -> str:
    return f"{v + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0


def summarize(a: np.ndarray, max_values: int = 4) -> str:
    """Small arrays as their values, larger ones as min, mean, max and L2 norm."""
    if a.size == 0:
        return "empty"
    if a.size <= max_values:
        vals = [_num(v) for v in np.asarray(a, np.float64).ravel().tolist()]
        return vals[0] if a.ndim == 0 else "[" + ", ".join(vals) + "]"
    f = np.asarray(a, np.float64)
    with np.errstate(all="ignore"):
        stats = f.min(), f.mean(), f.max(), np.sqrt(np.sum(f * f))
    return "min {}  mean {}  max {}  norm {}".format(*(_num(float(v), 3) for v in stats))


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _option(v: Any) -> str:
    """A short text for an op option (index arrays can be huge: show only their shape)."""
    if isinstance(v, np.ndarray):
        return f"array{_shape(v.shape)}"
    if isinstance(v, tuple):
        return "(" + ", ".join(_option(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v).name
    if isinstance(v, slice):
        return ":".join("" if x is None else str(x) for x in (v.start, v.stop, v.step)).rstrip(":")
    return repr(v)


def _finite(a: np.ndarray) -> bool:
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


class _Html(str):
    """A Graphviz HTML-like label: written between < > instead of quotes."""


def _quote(v: Any) -> str:
    if isinstance(v, _Html):
        return f"<{v}>"
    s = str(v)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(attrs: Mapping[str, Any]) -> str:
    return " [" + " ".join(f"{k}={_quote(v)}" for k, v in attrs.items() if v is not None) + "]"


def _table(rows: Iterable[str]) -> _Html:
    body = "".join(rows)
    return _Html(f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}'
                 "</TABLE>")


def _row(text: str, *, bold: bool = False, small: bool = False) -> str:
    if bold:
        text = f"<B>{text}</B>"
    if small:
        text = f'<FONT POINT-SIZE="9" COLOR="#455a64">{text}</FONT>'
    return f'<TR><TD COLSPAN="2">{text}</TD></TR>'


def _value_row(key: str, text: str) -> str:
    return (f'<TR><TD ALIGN="LEFT"><FONT COLOR="#607d8b">{key}</FONT></TD>'
            f'<TD ALIGN="LEFT">{html.escape(text)}</TD></TR>')


# -- building the drawing --------------------------------------------------------------------


@dataclass
class _Unit:
    """One drawn node: a graph node, a collapsed module, or a fold of hidden nodes."""

    kind: str  # "node", "module" or "fold"
    members: list[int] = field(default_factory=list)
    key: str = ""  # the module's dotted name (kind "module")


class _Drawing:
    """Turns a collected graph and the drawing options into DOT lines."""

    def __init__(self, roots: Tensor | Sequence[Tensor], params: Any = None, *,
                 inputs: Mapping[str, Any] | None = None, show_data: bool = False,
                 show_grad: bool = True, rankdir: str = "LR", show_backward: bool = False,
                 highlight: Tensor | Sequence[Tensor] | None = None,
                 mark: Iterable[Node] | None = None, collapse: bool | int = False,
                 max_nodes: int | None = 200, grad_max: float = 1e3, grad_min: float = 1e-7,
                 max_values: int = 4, legend: bool = True, title: str | None = None,
                 grads: Mapping[int, np.ndarray] | None = None, current: Function | None = None,
                 placeholder_grads: bool = False) -> None:
        if rankdir not in ("LR", "RL", "TB", "BT"):
            raise ValueError(
                f"draw_graph: rankdir must be 'LR', 'RL', 'TB' or 'BT', got {rankdir!r}")
        if max_nodes is not None and max_nodes < 1:
            raise ValueError(f"draw_graph: max_nodes must be at least 1, got {max_nodes}")
        self.g = collect(roots)
        self.show_data, self.show_grad, self.rankdir = show_data, show_grad, rankdir
        self.show_backward, self.max_values = show_backward, max_values
        self.grad_max, self.grad_min = grad_max, grad_min
        self.legend, self.title = legend, title
        self.grads = grads  # id(tensor) -> gradient known so far (backward_frames)
        self.placeholder_grads = placeholder_grads
        self.current = None if current is None else self.g.pos(current)
        self._names(params, inputs)
        self._modules(params)
        self.marked = {p for p in (self.g.pos(m) for m in (mark or ())) if p is not None}
        self.order = {}
        if show_backward:
            self.order = {id(fn): k + 1 for k, fn in enumerate(
                backward_op_order([self.g.nodes[r] for r in self.g.roots]))}
        self.highlighted = self._paths_to(highlight)
        self.unit_of, self.units = self._units(collapse, max_nodes)
        self.used: set[str] = set()  # legend entries that the drawing needs

    # -- names, kinds, modules -------------------------------------------------------------

    def _names(self, params: Any, inputs: Mapping[str, Any] | None) -> None:
        """Names from ``params``, then ``inputs``, then ``tensor.name``; unnamed leaves get
        ``param`` / ``input`` (numbered ``input_0``, ... when there are several), the root
        ``output``. Intermediates stay unnamed unless named."""
        self.param_names: dict[int, str] = {}
        if params is not None:
            pairs = params.named_parameters() if hasattr(params, "named_parameters") else (
                params.items())
            self.param_names = {id(t): name for name, t in pairs}
        given = {id(t): name for name, t in (inputs or {}).items() if isinstance(t, Tensor)}
        self.names: dict[int, str] = {}
        self.kinds: list[str] = []
        roots = set(self.g.roots)
        unnamed: dict[str, list[int]] = {"param": [], "input": [], "output": []}
        for i, obj in enumerate(self.g.nodes):
            if isinstance(obj, Function):
                self.kinds.append("op")
                continue
            if i in roots:
                kind = "output"
            elif obj.grad_fn is not None:
                kind = "tensor"
            elif obj.requires_grad or id(obj) in self.param_names:
                kind = "param"
            elif obj.numel() == 1 and obj.name is None and id(obj) not in given:
                kind = "const"
            else:
                kind = "input"
            self.kinds.append(kind)
            name = self.param_names.get(id(obj)) or given.get(id(obj)) or obj.name
            if name is not None:
                self.names[i] = name
            elif kind in unnamed:
                unnamed[kind].append(i)
        for kind, nodes in unnamed.items():
            for k, i in enumerate(nodes):
                self.names[i] = kind if len(nodes) == 1 else f"{kind}_{k}"

    def _modules(self, params: Any) -> None:
        """Each node's module path (dotted name) when ``params`` is a Module: an op's is
        the module that was running when it was created (``op.scope``), a tensor's that
        of the op that made it, a parameter's that of its owner, a constant's that of
        its consumers if they agree. Inputs stay outside."""
        self.module_type: dict[str, str] = {}
        self.cluster: list[str | None] = [None] * len(self.g.nodes)
        named = getattr(params, "named_modules", None)
        if named is None:
            return
        by_id = {}
        for name, m in named():
            by_id[id(m)] = name
            self.module_type[name] = type(m).__name__
        g = self.g
        for i, obj in enumerate(g.nodes):
            if isinstance(obj, Function):
                self.cluster[i] = by_id.get(id(obj.scope)) or None  # "" (the root): none
            elif self.kinds[i] == "param" and id(obj) in self.param_names:
                owner = self.param_names[id(obj)].rpartition(".")[0]
                self.cluster[i] = owner or None
        for i, obj in enumerate(g.nodes):
            if isinstance(obj, Tensor) and obj.grad_fn is not None:
                self.cluster[i] = self.cluster[g.preds[i][0]]
        consumers: dict[int, set[str | None]] = {}
        for u, v in g.edges():
            if self.kinds[u] == "const":
                consumers.setdefault(u, set()).add(self.cluster[v])
        for u, cs in consumers.items():
            if len(cs) == 1:
                self.cluster[u] = next(iter(cs))

    def _chain(self, path: str | None) -> list[str]:
        """The enclosing module clusters of ``path``, outermost first."""
        if not path:
            return []
        parts = path.split(".")
        return [p for p in (".".join(parts[:k]) for k in range(1, len(parts) + 1))
                if p in self.module_type]

    # -- highlight, collapse, fold ---------------------------------------------------------

    def _paths_to(self, target: Tensor | Sequence[Tensor] | None) -> set[int]:
        """Nodes on a path from a root back to ``target``: the target and everything
        computed from it (every node leads to a root)."""
        if target is None:
            return set()
        targets = [target] if isinstance(target, Tensor) else list(target)
        seen = {p for p in (self.g.pos(t) for t in targets) if p is not None}
        queue = deque(seen)
        while queue:
            for v in self.g.succs[queue.popleft()]:
                if v not in seen:
                    seen.add(v)
                    queue.append(v)
        return seen

    def _units(self, collapse: bool | int, max_nodes: int | None) -> tuple[list[int], list[_Unit]]:
        """Map each graph node to the unit it is drawn as."""
        depth = int(collapse)
        unit_of: list[int] = []
        units: list[_Unit] = []
        by_key: dict[str, int] = {}
        for i in range(len(self.g.nodes)):
            chain = self._chain(self.cluster[i]) if depth else []
            if len(chain) >= depth > 0:
                key = chain[depth - 1]
                if key not in by_key:
                    by_key[key] = len(units)
                    units.append(_Unit("module", key=key))
                unit_of.append(by_key[key])
            else:
                unit_of.append(len(units))
                units.append(_Unit("node"))
            units[unit_of[-1]].members.append(i)
        if max_nodes is not None and len(units) > max_nodes:
            unit_of, units = self._fold(unit_of, units, max_nodes)
        return unit_of, units

    def _fold(self, unit_of: list[int], units: list[_Unit],
              max_nodes: int) -> tuple[list[int], list[_Unit]]:
        """Keep at most ``max_nodes`` units, those nearest the output (breadth first from
        the roots, each with its leaf inputs); fold each connected group of the others
        into one summary node."""
        preds: list[list[int]] = [[] for _ in units]
        links: list[tuple[int, int]] = []
        for u, v in self.g.edges():
            a, b = unit_of[u], unit_of[v]
            if a != b:
                preds[b].append(a)
                links.append((a, b))
        keep: dict[int, None] = {}  # ordered set
        queue = deque(dict.fromkeys(unit_of[r] for r in self.g.roots))
        while queue:
            u = queue.popleft()
            if u in keep:
                continue
            # A unit comes with its leaf inputs (no leaf is left alone in a fold); stop
            # at the first that does not fit, so that the kept part stays connected.
            leaves = [p for p in dict.fromkeys(preds[u]) if not preds[p] and p not in keep]
            if keep and len(keep) + 1 + len(leaves) > max_nodes:
                break
            keep[u] = None
            keep.update(dict.fromkeys(leaves))
            queue.extend(p for p in preds[u] if preds[p])
        parent = list(range(len(units)))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for a, b in links:
            if a not in keep and b not in keep:
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
        new_units: list[_Unit] = []
        new_of_unit: dict[int, int] = {}
        fold_of_root: dict[int, int] = {}
        for u, unit in enumerate(units):
            if u in keep:
                new_of_unit[u] = len(new_units)
                new_units.append(unit)
                continue
            r = find(u)
            if r not in fold_of_root:
                fold_of_root[r] = len(new_units)
                new_units.append(_Unit("fold"))
            new_of_unit[u] = fold_of_root[r]
            new_units[new_of_unit[u]].members.extend(unit.members)
        return [new_of_unit[u] for u in unit_of], new_units

    # -- tensors' state ---------------------------------------------------------------------------

    def _grad(self, t: Tensor) -> np.ndarray | None:
        if self.grads is not None:
            return self.grads.get(id(t))
        return None if t._grad is None else t._grad.data  # (._grad: no non-leaf warning)

    def _health(self, t: Tensor) -> str | None:
        """"bad" for nan/inf in data or gradient, "warn" for a gradient norm outside
        [grad_min, grad_max], else None."""
        g = self._grad(t)
        released = isinstance(t, Released)  # (freed by backward: no data to check)
        if (not released and not _finite(t.data)) or (g is not None and not _finite(g)):
            return "bad"
        if g is not None and g.size and g.dtype.kind == "f":
            norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
            if norm > self.grad_max or norm < self.grad_min:
                return "warn"
        return None

    # -- labels ----------------------------------------------------------------------------

    def _tensor_label(self, i: int) -> _Html:
        t: Tensor = self.g.nodes[i]
        name = self.names.get(i)
        if self.kinds[i] == "const":
            return _table([_row(html.escape(summarize(t.data, 1)), bold=True),
                           _row(f"{_shape(t.shape)} {t.dtype}", small=True)])
        rows = []
        if name is not None:
            rows.append(_row(html.escape(name), bold=True))
        rows.append(_row(f"{_shape(t.shape)} {t.dtype}", small=name is not None))
        if self.show_data:
            rows.append(_value_row("data", "freed by backward" if isinstance(t, Released)
                                   else summarize(t.data, self.max_values)))
        if self.show_grad and t.requires_grad:
            g = self._grad(t)
            if g is not None:
                rows.append(_value_row("grad", summarize(g, self.max_values)))
            elif self.placeholder_grads:
                rows.append(_value_row("grad", "?"))
        return _table(rows)

    def _op_label(self, i: int) -> _Html:
        fn: Function = self.g.nodes[i]
        title = fn.name
        if id(fn) in self.order:
            title = f"#{self.order[id(fn)]} {title}"
        rows = [_row(html.escape(title), bold=True)]
        opts = ", ".join(f"{k}={_option(v)}" for k, v in getattr(fn, "options", {}).items()
                         if v is not None)  # unset options are noise
        if opts:
            opts = opts if len(opts) <= 40 else opts[:39] + "…"
            rows.append(_row(html.escape(opts), small=True))
        return _table(rows)

    def _module_label(self, unit: _Unit) -> _Html:
        rows = [_row(html.escape(f"{unit.key}: {self.module_type.get(unit.key, '?')}"),
                     bold=True)]
        # Members are in node order (from the output back): reverse for forward order.
        ops = Counter(self.g.nodes[i].name for i in reversed(unit.members)
                      if self.kinds[i] == "op")
        rows.append(_row(html.escape(", ".join(
            n if c == 1 else f"{n} ×{c}" for n, c in ops.items())), small=True))
        for i in reversed(unit.members):
            if self.kinds[i] == "param":
                t = self.g.nodes[i]
                name = self.names.get(i, "?").removeprefix(unit.key + ".")
                rows.append(_row(html.escape(f"{name} {_shape(t.shape)}"), small=True))
                g = self._grad(t)
                if self.show_grad and g is not None:
                    rows.append(_value_row(f"{name}.grad", summarize(g, self.max_values)))
        outs = [i for i in unit.members if self._leaves_unit(i)]
        for i in outs:
            rows.append(_row("out " + _shape(self.g.nodes[i].shape), small=True))
        return _table(rows)

    def _leaves_unit(self, i: int) -> bool:
        """A tensor of the unit used outside it (or a root): the module's output."""
        if self.kinds[i] == "op":
            return False
        if i in self.g.roots:
            return True
        return any(self.unit_of[v] != self.unit_of[i] for v in self.g.succs[i])

    def _fold_label(self, unit: _Unit) -> _Html:
        ops = Counter(self.g.nodes[i].name for i in unit.members if self.kinds[i] == "op")
        common = ", ".join(f"{n} ×{c}" for n, c in ops.most_common(4))
        more = ", …" if len(ops) > 4 else ""
        n = len(unit.members)
        rows = [_row(f"{n} more node{'s' if n != 1 else ''} folded", bold=True)]
        if common:
            rows.append(_row(html.escape(common + more), small=True))
        return _table(rows)

    # -- node and edge attributes ----------------------------------------------------------

    def _node_attrs(self, u: int) -> dict[str, Any]:
        unit = self.units[u]
        if unit.kind == "fold":
            self.used.add("fold")
            return {"label": self._fold_label(unit), "shape": "box",
                    "style": "rounded,dashed,filled", "fillcolor": COLORS["fold"]}
        if unit.kind == "module":
            self.used.add("module")
            states = {self._health(self.g.nodes[i]) for i in unit.members
                      if self.kinds[i] != "op"}
            kind = "bad" if "bad" in states else "warn" if "warn" in states else "module"
            self.used.add(kind)
            attrs = {"label": self._module_label(unit), "shape": "box3d", "style": "filled",
                     "fillcolor": COLORS[kind]}
            if any(i in self.marked for i in unit.members):
                attrs.update(color=COLORS["bad"], penwidth="3")
                self.used.add("mark")
        else:
            i = unit.members[0]
            kind = self.kinds[i]
            if kind == "op":
                attrs = {"label": self._op_label(i), "shape": "box", "style": "rounded,filled",
                         "fillcolor": COLORS["op"], "margin": "0.08,0.03"}
                if i in self.marked:
                    attrs.update(fillcolor=COLORS["bad"], color="#b71c1c", penwidth="2.5")
                    self.used.add("mark")
            else:
                attrs = {"label": self._tensor_label(i), "shape": "box", "style": "filled",
                         "fillcolor": COLORS[kind]}
                state = self._health(self.g.nodes[i])
                if i in self.marked:
                    state = "bad" if state == "bad" else "mark"
                if state is not None:
                    attrs.update(fillcolor=COLORS["warn" if state == "warn" else "bad"],
                                 color="#e65100" if state == "warn" else "#b71c1c",
                                 penwidth="2")
                    self.used.add(state)
                if kind == "const":
                    attrs.update(margin="0.04,0.02")
            self.used.add(kind)
        if any(i in self.highlighted for i in unit.members):
            attrs.update(color=HIGHLIGHT, penwidth="3")
            self.used.add("highlight")
        if self.current is not None and self.current in unit.members:
            attrs.update(color=CURRENT, penwidth="4")
            self.used.add("current")
        return attrs

    def _edges(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Drawn edges: one per graph edge between plain nodes (``x * x`` keeps both),
        one per linked pair when a module or fold node is involved."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        merged: dict[tuple[int, int], dict[str, Any]] = {}
        g = self.g
        for u, v in g.edges():
            a, b = self.unit_of[u], self.unit_of[v]
            if a == b:
                continue
            tensor = g.nodes[u] if isinstance(g.nodes[u], Tensor) else g.nodes[v]
            attrs: dict[str, Any] = {}
            if not tensor.requires_grad:
                attrs.update(color=NO_GRAD_EDGE, style="dashed")
                self.used.add("no_grad")
            elif self.show_backward:
                attrs["label"] = " " + _shape(tensor.shape)
            if u in self.highlighted and v in self.highlighted:
                attrs.update(color=HIGHLIGHT, penwidth="2.5")
            if self.current is not None and v == self.current and tensor.requires_grad:
                attrs.update(color=CURRENT, penwidth="3", dir="back")
            plain = self.units[a].kind == "node" and self.units[b].kind == "node"
            if plain:
                out.append((self._id(a), self._id(b), attrs))
            elif (a, b) in merged:
                if attrs.get("color") == HIGHLIGHT:
                    merged[a, b].update(color=HIGHLIGHT, penwidth="2.5")
            else:
                merged[a, b] = attrs
                out.append((self._id(a), self._id(b), attrs))
        return out

    def _id(self, u: int) -> str:
        unit = self.units[u]
        if unit.kind == "node":
            return f"n{unit.members[0]}"
        return f"{'m' if unit.kind == 'module' else 'f'}{unit.members[0]}"

    def _legend(self) -> str:
        entries = [
            ("param", COLORS["param"], "parameter"), ("input", COLORS["input"], "input"),
            ("const", COLORS["const"], "constant"), ("tensor", COLORS["tensor"], "intermediate"),
            ("op", COLORS["op"], "op"), ("output", COLORS["output"], "output"),
            ("module", COLORS["module"], "collapsed module"),
            ("fold", COLORS["fold"], "folded nodes (max_nodes)"),
            ("bad", COLORS["bad"], "nan or inf"),
            ("warn", COLORS["warn"],
             f"grad norm &gt; {self.grad_max:g} or &lt; {self.grad_min:g}"),
            ("mark", COLORS["bad"], "marked: e.g. a wrong backward"),
            ("highlight", HIGHLIGHT, "path to the highlighted tensor"),
            ("current", CURRENT, "op being backpropagated"),
            ("no_grad", NO_GRAD_EDGE, "edge without gradient (dashed)"),
        ]
        cells = [f'<TD BGCOLOR="{color}" BORDER="1" WIDTH="14"> </TD>'
                 f'<TD ALIGN="LEFT">{text}</TD>' for key, color, text in entries
                 if key in self.used]
        if "cluster" in self.used:
            cells.append(f'<TD BGCOLOR="{CLUSTER_FILL}" BORDER="1" WIDTH="14"> </TD>'
                         '<TD ALIGN="LEFT">module (cluster)</TD>')
        # Two entries per row keep the legend from towering over a left-to-right graph;
        # the entries sit in a nested table so that the note below does not widen them.
        pairs = ["<TR>" + "".join(cells[k:k + 2]) + "</TR>" for k in range(0, len(cells), 2)]
        rows = ["<TR><TD><B>legend</B></TD></TR>",
                '<TR><TD><TABLE BORDER="0" CELLSPACING="2" CELLPADDING="1">' + "".join(pairs)
                + "</TABLE></TD></TR>"]
        if self.order:
            rows.append('<TR><TD ALIGN="LEFT">#k: the k-th op that backward visits<BR ALIGN='
                        '"LEFT"/>edge label: the shape of the gradient along it<BR ALIGN="LEFT"/>'
                        "</TD></TR>")
        table = ('<TABLE BORDER="1" COLOR="#b0bec5" CELLBORDER="0" CELLSPACING="0" '
                 'CELLPADDING="3">' + "".join(rows) + "</TABLE>")
        attrs = {"shape": "plain", "fontsize": "10", "label": _Html(table)}
        return f"\tlegend{_attrs(attrs)}\n"

    # -- DOT text --------------------------------------------------------------------------

    def lines(self) -> list[str]:
        """The body of the ``digraph { ... }``, one newline-terminated line per entry."""
        graph = {"rankdir": self.rankdir, "fontname": "Helvetica", "nodesep": "0.2",
                 "ranksep": "0.3"}
        if self.title:
            graph.update(label=self.title, labelloc="t", fontsize="16")
        node = {"fontname": "Helvetica", "fontsize": "11", "height": "0.3"}
        edge = {"fontname": "Helvetica", "fontsize": "9", "color": "#546e7a",
                "fontcolor": "#37474f", "arrowsize": "0.6"}
        lines = [f"\tgraph{_attrs(graph)}\n", f"\tnode{_attrs(node)}\n",
                 f"\tedge{_attrs(edge)}\n"]
        nodes = {u: f"\t{self._id(u)}{_attrs(self._node_attrs(u))}\n"
                 for u in range(len(self.units))}
        lines += self._clusters(nodes)
        lines += [f"\t{a} -> {b}{_attrs(attrs) if attrs else ''}\n"
                  for a, b, attrs in self._edges()]
        if self.legend:
            lines.append(self._legend())
        return lines

    def _clusters(self, nodes: dict[int, str]) -> list[str]:
        """Node lines, grouped into (nested) module clusters."""
        members: dict[str | None, list[int]] = {None: []}
        children: dict[str | None, list[str]] = {None: []}
        for u, unit in enumerate(self.units):
            if unit.kind == "fold":
                path = None
            elif unit.kind == "module":
                path = unit.key.rpartition(".")[0] or None
            else:
                path = self.cluster[unit.members[0]]
            chain = self._chain(path)
            parent: str | None = None
            for c in chain:
                if c not in members:
                    members[c], children[c] = [], []
                    children[parent].append(c)
                parent = c
            members[chain[-1] if chain else None].append(u)
        out: list[str] = []
        count = 0
        # (cluster, closing) pairs: an explicit stack writes nested clusters in order.
        stack: list[tuple[str | None, bool]] = [(None, False)]
        while stack:
            c, closing = stack.pop()
            if closing:
                out.append("\t}\n")
                continue
            if c is not None:
                label = f"{c}: {self.module_type[c]}"
                out.append(f"\tsubgraph cluster_{count} {{\n")
                style = {"label": label, "style": "rounded,filled", "fillcolor": CLUSTER_FILL,
                         "color": CLUSTER_LINE, "fontsize": "11", "fontcolor": "#455a64",
                         "labeljust": "l"}
                out.append(f"\t\tgraph{_attrs(style)}\n")
                self.used.add("cluster")
                count += 1
                stack.append((c, True))
            out += [("\t" if c is not None else "") + nodes[u] for u in members[c]]
            stack += [(child, False) for child in reversed(children[c])]
        return out


def to_dot(root: Tensor | Sequence[Tensor], params: Any = None, show_data: bool = False,
           show_grad: bool = True, rankdir: str = "LR", **kwargs: Any) -> str:
    """The DOT text of ``draw_graph(root, ...)`` (same arguments); needs no Graphviz.

    Identical to ``draw_graph(...).source``; paste it into any Graphviz viewer."""
    body = _Drawing(root, params, show_data=show_data, show_grad=show_grad, rankdir=rankdir,
                    **kwargs).lines()
    return f"digraph {GRAPH_NAME} {{\n" + "".join(body) + "}\n"
