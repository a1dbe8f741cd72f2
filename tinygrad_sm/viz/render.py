"""Turn the DOT text of ``graph.py`` into a ``graphviz.Digraph``, with useful errors.

The ``graphviz`` Python package only writes DOT text and runs the ``dot`` program of
Graphviz to lay it out; that program is a separate install. When it is missing,
rendering raises ``GraphvizNotFoundError`` saying how to install it, and in Jupyter the
drawing displays as that hint plus the DOT text instead of a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache
from typing import Any

from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.viz.graph import GRAPH_NAME, _Drawing

INSTALL_HINT = """\
Graphviz's `dot` program was not found on PATH, so the graph cannot be rendered.
The `graphviz` Python package only writes DOT text; install the Graphviz program too:
  Debian/Ubuntu:  sudo apt-get install graphviz
  macOS:          brew install graphviz
  conda:          conda install -c conda-forge graphviz
  other systems:  https://graphviz.org/download/
The DOT text is still available: `.source` holds it (save it with `.save('graph.gv')` and \
render it anywhere, e.g. with `dot -Tsvg graph.gv -o graph.svg`)."""


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is missing; the message says how to install it.
    The original ``graphviz.ExecutableNotFound`` is the ``__cause__``."""


def _import_graphviz(where: str) -> Any:
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            f"{where} needs the graphviz Python package: pip install graphviz (or pip install "
            "'tinygrad_sm[viz]'), plus the Graphviz program to render. to_dot(...) gives the "
            "DOT text without either."
        ) from None
    return graphviz


@cache
def digraph_class() -> type:
    """``graphviz.Digraph`` with rendering errors that explain how to install Graphviz
    (built on first use, because graphviz is an optional dependency)."""
    graphviz = _import_graphviz("draw_graph")

    class Drawing(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose rendering explains a missing ``dot`` program."""

        def _missing(self, err: Exception) -> GraphvizNotFoundError:
            return GraphvizNotFoundError(f"{INSTALL_HINT}\n(graphviz said: {err})")

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise self._missing(err) from err

        def render(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise self._missing(err) from err

        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                              **kwargs: Any) -> dict[str, Any]:
            # Jupyter shows a traceback when a display method raises: show the hint and
            # the DOT text instead.
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except (graphviz.ExecutableNotFound, GraphvizNotFoundError):
                text = f"{INSTALL_HINT}\n\n{self.source}"
                return {"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>"}

    Drawing.__qualname__ = "Drawing"
    return Drawing


def draw_graph(root: Tensor | Sequence[Tensor], params: Any = None, show_data: bool = False,
               show_grad: bool = True, rankdir: str = "LR", **kwargs: Any) -> Any:
    """A ``graphviz.Digraph`` of everything ``root`` was computed from.

    Tensor nodes show a name (from ``params``, a dict of name -> tensor or a Module whose
    ``named_parameters()`` are used; from ``inputs``, a dict of name -> tensor; from
    ``tensor.name``; else generated for leaves: ``param_0``, ``input_0``, ``output``),
    the shape and dtype, and with ``show_data`` / ``show_grad`` the values (at most
    ``max_values`` of them, else min, mean, max and L2 norm). A legend explains the colours.

    Keyword options:
      ``show_backward``: number the ops in the order backward visits them and label
        each edge with the shape of the gradient that flows along it.
      ``highlight``: a tensor (or list): mark the paths from the output back to it.
      ``mark``: op nodes (e.g. from ``find_wrong_ops``) or tensors to draw red.
      ``collapse``: with ``params`` a Module, draw each submodule as one node
        (``True``: the root's children; an int n: the modules n levels down).
      ``max_nodes`` (200): beyond it, fold the nodes farthest from the output into
        summary nodes that say how many they hide (``None``: never fold).
      ``grad_max`` (1e3), ``grad_min`` (1e-7): gradient L2 norms outside these are
        drawn orange (exploding or vanishing); nan or inf anywhere is red.
      ``max_values`` (4), ``legend`` (True), ``title`` (None).

    Render with ``.render(path, format='svg' | 'png' | 'pdf')``; in Jupyter it displays
    inline. ``.source`` is the DOT text, the same as ``to_dot(...)``."""
    drawing = _Drawing(root, params, show_data=show_data, show_grad=show_grad,
                       rankdir=rankdir, **kwargs)
    return digraph_class()(GRAPH_NAME, body=drawing.lines())
