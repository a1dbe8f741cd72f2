"""Drawings of computation graphs (Graphviz, an optional dependency).

``draw_graph(loss, params=model)`` returns a ``graphviz.Digraph`` (inline in Jupyter,
``.render(path, format='svg')`` elsewhere); ``to_dot`` gives its DOT text without
Graphviz; ``backward_frames`` writes one drawing per backward step; ``explore`` replays
the backward pass step by step in one interactive offline HTML page;
``draw_training_step`` draws one forward + backward of a batch; ``find_wrong_ops`` tells
which op of a failing gradcheck has the wrong backward.
"""

from tinygrad_sm.viz.blame import check_op, find_wrong_ops
from tinygrad_sm.viz.explorer import Explorer, explore
from tinygrad_sm.viz.frames import backward_frames, backward_steps, frame_sources
from tinygrad_sm.viz.graph import collect, to_dot
from tinygrad_sm.viz.render import INSTALL_HINT, GraphvizNotFoundError, draw_graph
from tinygrad_sm.viz.step import draw_training_step

__all__ = [
    "INSTALL_HINT", "Explorer", "GraphvizNotFoundError", "backward_frames", "backward_steps",
    "check_op", "collect", "draw_graph", "draw_training_step", "explore", "find_wrong_ops",
    "frame_sources", "to_dot",
]
