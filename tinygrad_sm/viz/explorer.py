"""``explore``: watch backprop happen, step by step, in one interactive offline HTML page.

The graph is laid out once by Graphviz, with ``draw_graph``'s styling, clusters and
folding. The engine's own backward pass is recorded (``backward_trace``) and each step
becomes a few precomputed texts: the op processed, the gradient it received, what it sent
to each input and the partial sums that grew. A small script in the page
(``explorer.js``) replays them onto the SVG. The SVG, data, script and styles are all
inline, so the page needs no kernel, no widget and no network: it works in Jupyter, in a
static docs site and as a file opened from disk.
"""

from __future__ import annotations

import html
import inspect
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.viz.frames import BackwardStep, backward_trace
from tinygrad_sm.viz.graph import GRAPH_NAME, _Drawing, _shape, summarize
from tinygrad_sm.viz.render import _import_graphviz, digraph_class


class Explorer:
    """The backward pass of one graph as a self-contained HTML page (``.html``).

    In Jupyter it displays inline (an iframe whose ``srcdoc`` is the page, so its script
    runs whatever the front-end's sanitizer does to plain HTML); ``.save(path)`` writes
    the page to a file that any browser opens offline. ``height`` is the inline height
    in pixels."""

    def __init__(self, page: str, steps: int, height: int = 640) -> None:
        self.html, self.steps, self.height = page, steps, height

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (one file: nothing else is needed to open it)."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width: 100%; height: {self.height}px; border: 1px solid #cfd8dc" '
                'sandbox="allow-scripts" title="backward-pass explorer"></iframe>')

    def __repr__(self) -> str:
        return (f"<Explorer: {self.steps} steps of backward; .save('explorer.html') writes "
                "the page, Jupyter shows it inline>")


def explore(root: Tensor, params: Any = None, *, gradient: Any = None,
            **draw_kwargs: Any) -> Explorer:
    """An interactive page that replays ``root.backward()`` one op at a time.

    Step 0 is the seed dL/dL = 1 (or ``gradient``, for a non-scalar ``root``); step k
    is the k-th op that backward processes, highlighted with the edges its gradients
    flow along. Every gradient known so far is shown in the graph ("?" until known), and
    a side panel gives the op's derivative rule (its docstring), the gradient it received
    and those it sent, with the partial sums of tensors used more than once. Click a
    node for its value and gradient. Keys: Left / Right step, Home / End jump, Space plays.

    ``params`` and ``draw_kwargs`` are those of ``draw_graph`` (``show_backward`` defaults
    to True; ``title`` heads the page; ``max_nodes`` and ``collapse`` keep big graphs
    readable). Call it before ``root.backward()``, which frees the graph; no ``.grad`` is
    touched. Needs Graphviz (the ``graphviz`` package and the ``dot`` program)."""
    if not isinstance(root, Tensor):
        raise TypeError("explore: expected the Tensor to backpropagate from (e.g. the loss), "
                        f"got {type(root).__name__}")
    _import_graphviz("explore")  # its install hint, before any work
    title = draw_kwargs.pop("title", None) or "Backprop, step by step"
    draw_kwargs.setdefault("show_backward", True)
    max_values = draw_kwargs.get("max_values", 4)
    steps = backward_trace(root, gradient, where="explore")
    sent, widest = _replay(steps, max_values)
    # Laid out with each gradient's longest text, so that no later text overflows its box.
    layout = _Drawing(root, params, grads=widest, placeholder_grads=True, **draw_kwargs)
    svg, grad_ids = _svg(layout)
    data = _data(layout, steps, sent, grad_ids, max_values)
    return Explorer(_page(title, svg, data), len(steps) - 1)


# -- the texts of each step ------------------------------------------------------------------


@dataclass
class _Sent:
    """A gradient an op sent to one of its inputs, and the partial sum it made there."""

    to: Any  # the input tensor
    grad: str
    shape: str
    had: str | None  # the input's gradient before: None if this is its first
    total: str


def _replay(steps: list[BackwardStep], max_values: int,
            ) -> tuple[list[list[_Sent]], dict[int, np.ndarray]]:
    """What each step's op sent, as texts, and each gradient at its longest text (by
    ``id(tensor)``), for the layout."""
    widest: dict[int, tuple[str, np.ndarray]] = {}

    def note(t: Any, g: np.ndarray) -> str:
        text = summarize(g, max_values)
        if id(t) not in widest or len(text) >= len(widest[id(t)][0]):
            widest[id(t)] = (text, g)
        return text

    (root_id, seed), = steps[0].known.items()
    widest[root_id] = (summarize(seed, max_values), seed)
    out: list[list[_Sent]] = [[]]
    for before, step in zip(steps, steps[1:]):
        assert step.op is not None
        partial: dict[int, np.ndarray] = {}  # (x * x sends to x twice in one step)
        rows = []
        for inp, g in zip(step.op.inputs, step.sent):
            if g is None:
                continue
            had = partial.get(id(inp), before.known.get(id(inp)))
            partial[id(inp)] = total = g if had is None else had + g  # as backward_trace adds
            rows.append(_Sent(inp, summarize(g, max_values), _shape(g.shape),
                              None if had is None else summarize(had, max_values),
                              note(inp, total)))
        out.append(rows)
    return out, {tid: g for tid, (_, g) in widest.items()}


def _svg(layout: _Drawing) -> tuple[str, set[int]]:
    """The laid-out SVG, with ``id="gv-<node>"`` on each gradient text the page updates,
    and the graph positions of the tensors that have one."""
    source = digraph_class()(GRAPH_NAME, body=layout.lines()).pipe(format="svg").decode()
    svg = source[source.index("<svg"):]
    keys: dict[str, dict[str, int]] = {}  # drawn node id -> {row key: graph position}
    for u, unit in enumerate(layout.units):
        if unit.kind == "node" and layout.kinds[unit.members[0]] != "op":
            keys[layout._id(u)] = {"grad": unit.members[0]}
        elif unit.kind == "module":
            keys[layout._id(u)] = {
                layout.names.get(i, "?").removeprefix(unit.key + ".") + ".grad": i
                for i in unit.members if layout.kinds[i] == "param"}
    found: set[int] = set()

    def tag_node(m: re.Match[str]) -> str:
        rows = keys.get(html.unescape(m.group(2)), {})
        body = m.group(3)
        texts = list(re.finditer(r"<text [^>]*>([^<]*)</text>", body))
        for before, t in reversed(list(zip(texts, texts[1:]))):  # the value follows its key
            i = rows.get(html.unescape(before.group(1)))
            if i is not None:
                found.add(i)
                at = t.start() + len("<text ")
                body = f'{body[:at]}id="gv-{i}" {body[at:]}'
        return m.group(1) + body

    svg = re.sub(r'(<g id="node\d+" class="node">\s*<title>([^<]*)</title>)(.*?</g>)',
                 tag_node, svg, flags=re.S)
    return svg, found


def _rule(fn: Any) -> str:
    """The op's own docstring: its derivative rule, as the code states it."""
    doc = type(fn).__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else f"({type(fn).__name__} has no docstring)"


def _data(layout: _Drawing, steps: list[BackwardStep], sent: list[list[_Sent]],
          grad_ids: set[int], max_values: int) -> dict[str, Any]:
    """Everything the page's script needs, as JSON-ready lists and dicts; tensors and ops
    are named by their graph positions, drawn nodes by their Graphviz ids."""
    g = layout.g
    unit_id = [layout._id(u) for u in layout.unit_of]
    nodes: list[dict[str, Any]] = []
    for i, obj in enumerate(g.nodes):
        if layout.kinds[i] == "op":
            nodes.append({"op": obj.name, "unit": unit_id[i], "rule": _rule(obj),
                          "order": layout.order.get(id(obj))})
        else:
            nodes.append({"label": _label(layout, i), "unit": unit_id[i],
                          "shape": _shape(obj.shape), "dtype": str(obj.dtype),
                          "value": summarize(obj.data, max_values),
                          "grad": i in grad_ids, "requires_grad": obj.requires_grad})
    units: dict[str, list[int]] = {}
    for i, u in enumerate(unit_id):
        units.setdefault(u, []).append(i)

    def received(k: int, t: int) -> list[Any]:  # the gradient at tensor t after step k
        a = steps[k].known[id(g.nodes[t])]
        return [t, summarize(a, max_values), _shape(a.shape)]

    out = [{"op": None, "in": received(0, g.roots[0]), "sent": [], "edges": []}]
    for k, (step, rows) in enumerate(zip(steps[1:], sent[1:]), start=1):
        p = g.pos(step.op)
        result = g.succs[p][0]  # the op's output tensor
        # Gradients flow along the edge from the output and the edges to the inputs (the
        # drawn ones: none inside a collapsed module or fold).
        edges = [(unit_id[p], unit_id[result])]
        edges += [(unit_id[g.pos(r.to)], unit_id[p]) for r in rows]
        out.append({"op": p, "in": received(k - 1, result),
                    "sent": [[g.pos(r.to), r.grad, r.shape, r.had, r.total] for r in rows],
                    "edges": [f"{a}->{b}" for a, b in edges if a != b]})
    return {"nodes": nodes, "units": units, "steps": out}


def _label(layout: _Drawing, i: int) -> str:
    """How the panel names a tensor: its name, else what made it."""
    name = layout.names.get(i)
    if name is not None:
        return name
    if layout.kinds[i] == "const":
        return "constant"
    fn = layout.g.nodes[layout.g.preds[i][0]]
    order = layout.order.get(id(fn))
    return f"output of {'' if order is None else f'#{order} '}{fn.name}"


# -- the page --------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("tinygrad_sm.viz").joinpath(name).read_text(encoding="utf-8")


def _page(title: str, svg: str, data: dict[str, Any]) -> str:
    n = len(data["steps"]) - 1
    # "</" would end the <script> element early; "<\/" is the same JSON string.
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    t = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<style>
{_asset("explorer.css")}</style>
</head>
<body>
<header>
<h1>{t}</h1>
<div class="controls">
<button id="first" type="button" title="first step (Home)">|&#x25C0; first</button>
<button id="prev" type="button" title="previous step (Left)">&#x25C0; prev</button>
<button id="play" type="button" title="play / pause (Space)">&#x25B6; play</button>
<button id="next" type="button" title="next step (Right)">next &#x25B6;</button>
<button id="last" type="button" title="last step (End)">last &#x25B6;|</button>
<input id="slider" type="range" min="0" max="{n}" value="0" aria-label="step">
<span id="step-text" aria-live="polite">step 0 of {n}</span>
<button id="zoom" type="button" title="fit the graph into the window, or show it at full size"
>fit</button>
</div>
</header>
<main>
<div id="graph">
{svg}</div>
<aside id="panel"></aside>
</main>
<script type="application/json" id="explorer-data">{payload}</script>
<script>
{_asset("explorer.js")}</script>
</body>
</html>
"""
