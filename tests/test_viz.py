"""Tests for tinygrad_sm.viz: DOT content, rendering, fallbacks, frames and blame."""

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_sm as tg
from tinygrad_sm.autograd import GradcheckError, gradcheck
from tinygrad_sm.core.bookkeeping import _scope
from tinygrad_sm.core.function import Function
from tinygrad_sm.core.tensor import Tensor
from tinygrad_sm.viz import (
    GraphvizNotFoundError,
    backward_steps,
    collect,
    find_wrong_ops,
    frame_sources,
    to_dot,
)
from tinygrad_sm.viz.graph import COLORS, CURRENT, HIGHLIGHT

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="the Graphviz `dot` program is not installed (apt-get install graphviz; CI has it)",
)


@pytest.fixture
def graphviz():
    return pytest.importorskip("graphviz")


def node_lines(dot: str) -> dict[str, str]:
    """Node id -> its DOT line (the graph's own nodes: n*, m*, f*)."""
    return {m.group(1): line for line in dot.splitlines()
            if (m := re.match(r"\s*([nmf]\d+) \[", line))}


def edge_lines(dot: str) -> list[str]:
    return [line for line in dot.splitlines() if " -> " in line]


def count_graph(root: Tensor) -> tuple[int, int]:
    """Tensors + ops and edges of the graph, counted independently of the viz code."""
    seen, stack, edges = set(), [root], 0
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is not None:
            seen.add(id(t.grad_fn))
            edges += 1 + len(t.grad_fn.inputs)
            stack.extend(t.grad_fn.inputs)
    return len(seen), edges


def small_graph():
    tg.manual_seed(0)
    x = tg.randn(4, 3)
    w = tg.randn(3, 2, requires_grad=True)
    b = tg.zeros(2, requires_grad=True)
    loss = ((x @ w + b).relu() * (x @ w)).mean()
    return x, w, b, loss


# -- DOT content ---------------------------------------------------------------------------


def test_node_and_edge_counts_match_the_graph():
    x, w, b, loss = small_graph()
    dot = to_dot(loss, legend=False)
    n_nodes, n_edges = count_graph(loss)
    assert len(node_lines(dot)) == n_nodes
    assert len(edge_lines(dot)) == n_edges
    assert len(collect(loss).nodes) == n_nodes


def test_repeated_input_draws_one_edge_per_use():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    dot = to_dot(a * a, legend=False)
    assert len(node_lines(dot)) == 3
    assert edge_lines(dot).count("\tn2 -> n1") == 2


def test_labels_carry_names_shapes_dtypes_and_values():
    x, w, b, loss = small_graph()
    loss.backward()
    dot = to_dot(loss, {"weight": w, "bias": b}, show_data=True, inputs={"xb": x})
    lines = node_lines(dot)
    (w_line,) = [v for v in lines.values() if "<B>weight</B>" in v]
    assert "(3, 2) float32" in w_line
    assert "norm" in w_line and "min" in w_line  # 6 values: summarized
    (b_line,) = [v for v in lines.values() if "<B>bias</B>" in v]
    assert "(2,) float32" in b_line
    g = b.grad.data
    assert f"[{g[0]:.4g}, {g[1]:.4g}]" in b_line  # small: the values themselves
    assert any("<B>xb</B>" in v for v in lines.values())
    out = lines["n0"]
    assert "<B>output</B>" in out and "() float32" in out and f"{loss.item():.4g}" in out
    assert any("matmul" in v for v in lines.values())


def test_generated_and_attribute_names():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    c.name = "c_attr"
    d = tg.tensor([5.0, 6.0])
    lines = node_lines(to_dot((a * c) + d))
    text = "".join(lines.values())
    assert "<B>param</B>" in text and "<B>c_attr</B>" in text and "<B>input</B>" in text


def test_same_graph_gives_the_same_text_twice():
    *_, loss = small_graph()
    assert to_dot(loss, show_backward=True) == to_dot(loss, show_backward=True)
    *_, again = small_graph()  # a new graph with new ids: same text
    assert to_dot(again, show_backward=True) == to_dot(loss, show_backward=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_and_inf_tensors_are_red():
    x = tg.tensor(np.array([1.0, -1.0]), requires_grad=True)
    y = x.log()  # nan for -1
    lines = node_lines(to_dot(y.sum(), {"x": x}))
    red = [k for k, v in lines.items() if f'fillcolor="{COLORS["bad"]}"' in v]
    assert red == ["n0", "n2"]  # the sum (nan) and log(x); x itself is finite
    inf_grad = tg.tensor([0.0, 1.0], requires_grad=True)
    inf_grad.sqrt().sum().backward()  # d sqrt(x)/dx = inf at 0
    lines = node_lines(to_dot(inf_grad.sqrt().sum(), {"p": inf_grad}))
    (p_line,) = [v for v in lines.values() if "<B>p</B>" in v]
    assert COLORS["bad"] in p_line


def test_exploding_and_vanishing_gradients_are_orange_with_thresholds():
    w = tg.tensor([3.0, 4.0], requires_grad=True)  # grad = 100 * ones: norm 141
    loss = (w * 100.0).sum()
    loss.backward()
    assert COLORS["warn"] in to_dot(loss, {"w": w}, grad_max=100)
    assert COLORS["warn"] not in to_dot(loss, {"w": w}, grad_max=1e3)
    assert COLORS["warn"] in to_dot(loss, {"w": w}, grad_min=1e3)  # vanishing
    assert "grad norm &gt; 100" in to_dot(loss, {"w": w}, grad_max=100)  # legend entry


def test_legend_is_present_and_lists_the_kinds_drawn():
    x, w, b, loss = small_graph()
    dot = to_dot(loss)
    (legend,) = [line for line in dot.splitlines() if line.startswith("\tlegend ")]
    for text in ("parameter", "input", "op", "output", "intermediate"):
        assert text in legend
    assert "nan or inf" not in legend
    assert "legend" not in to_dot(loss, legend=False)


def test_show_backward_numbers_ops_in_backward_order_and_labels_gradient_shapes():
    x, w, b, loss = small_graph()
    dot = to_dot(loss, show_backward=True, legend=False)
    order = [t.grad_fn.name for t in tg.viz.graph.topological_order([loss]) if t.grad_fn]
    numbered = sorted((int(m.group(1)), m.group(2)) for m in re.finditer(r"#(\d+) (\w+)", dot))
    assert [name for _, name in numbered] == order
    assert any('label=" (3, 2)"' in e for e in edge_lines(dot))  # the gradient reaching w
    assert not any("label" in e for e in edge_lines(to_dot(loss, legend=False)))


def test_highlight_marks_the_paths_back_to_a_tensor():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([2.0], requires_grad=True)
    out = (a.exp() + b).sum()  # a -> exp -> t -> add -> t -> sum -> out; b -> add
    dot = to_dot(out, highlight=a, legend=False)
    blue = [e for e in edge_lines(dot) if HIGHLIGHT in e]
    assert len(blue) == 6
    assert len([v for v in node_lines(dot).values() if HIGHLIGHT in v]) == 7


def test_deep_graph_is_walked_without_recursion():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    assert len(collect(y).nodes) == 5000 * 3 + 1
    dot = to_dot(y, max_nodes=50)
    assert len(node_lines(dot)) <= 51


def test_max_nodes_folds_the_rest_into_summary_nodes():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(30):
        y = y.tanh()
    total = len(collect(y).nodes)  # 61
    lines = node_lines(to_dot(y, max_nodes=10))
    folds = [v for k, v in lines.items() if k.startswith("f")]
    assert len(lines) - len(folds) == 10
    hidden = sum(int(re.search(r"(\d+) more nodes? folded", v).group(1)) for v in folds)
    assert hidden == total - 10
    assert "tanh ×" in folds[0]
    assert len(node_lines(to_dot(y, max_nodes=None))) == total


def test_mark_draws_given_ops_red():
    x, w, b, loss = small_graph()
    relu = loss.grad_fn.inputs[0].grad_fn.inputs[0].grad_fn.inputs[0].grad_fn
    assert relu.name == "relu"
    lines = node_lines(to_dot(loss, mark=[relu]))
    (line,) = [v for v in lines.values() if ">relu<" in v]
    assert COLORS["bad"] in line


def test_bad_arguments_are_explained():
    *_, loss = small_graph()
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(loss, rankdir="XY")
    with pytest.raises(TypeError, match="expected a Tensor"):
        to_dot(np.zeros(3))


# -- module clusters (a minimal stand-in for nn.Module) -------------------------------------


class FakeModule:
    """Sets the op scope like nn.Module.__call__; lists modules/parameters the same way."""

    def __call__(self, x):
        prev, _scope.current = _scope.current, self
        try:
            return self.forward(x)
        finally:
            _scope.current = prev

    def children(self):
        return [(k, v) for k, v in vars(self).items() if isinstance(v, FakeModule)]

    def named_modules(self, prefix=""):
        yield prefix, self
        for k, m in self.children():
            yield from m.named_modules(f"{prefix}.{k}" if prefix else k)

    def named_parameters(self):
        for name, m in self.named_modules():
            for k, p in vars(m).items():
                if isinstance(p, Tensor):
                    yield (f"{name}.{k}" if name else k), p


class FakeLinear(FakeModule):
    def __init__(self, n_in, n_out):
        self.weight = tg.randn(n_in, n_out, requires_grad=True)
        self.bias = tg.zeros(n_out, requires_grad=True)

    def forward(self, x):
        return x @ self.weight + self.bias


class FakeReLU(FakeModule):
    def forward(self, x):
        return x.relu()


class FakeSequential(FakeModule):
    def __init__(self, *mods):
        for k, m in enumerate(mods):
            setattr(self, str(k), m)

    def forward(self, x):
        for _, m in self.children():
            x = m(x)
        return x


def fake_mlp():
    tg.manual_seed(0)
    return FakeSequential(FakeLinear(4, 5), FakeReLU(), FakeSequential(FakeLinear(5, 3)))


def clusters(dot: str) -> dict[str, list[str]]:
    """Cluster label -> node ids directly inside it."""
    out, stack = {}, []
    for line in dot.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            stack.append(None)
        elif (m := re.search(r'graph \[label="([^"]+)"', line)) and stack:
            stack[-1] = m.group(1)
            out[m.group(1)] = []
        elif line.strip() == "}" and stack:
            stack.pop()
        elif stack and (m := re.match(r"\s*([nmf]\d+) \[", line)):
            out[stack[-1]].append(m.group(1))
    return out


def test_ops_are_grouped_into_nested_module_clusters():
    model = fake_mlp()
    x = tg.randn(2, 4)
    loss = model(x).sum()
    dot = to_dot(loss, model)
    cl = clusters(dot)
    assert set(cl) == {"0: FakeLinear", "1: FakeReLU", "2: FakeSequential", "2.0: FakeLinear"}
    lines = node_lines(dot)
    first = " ".join(lines[n] for n in cl["0: FakeLinear"])
    assert "matmul" in first and ">add<" in first and "<B>0.weight</B>" in first
    assert "<B>0.bias</B>" in first
    assert cl["2: FakeSequential"] == []  # its ops are all inside 2.0
    assert "matmul" in " ".join(lines[n] for n in cl["2.0: FakeLinear"])
    assert not any("sum" in lines[n] for c in cl.values() for n in c)  # the loss: outside


def test_collapse_draws_each_submodule_as_one_node():
    model = fake_mlp()
    loss = model(tg.randn(2, 4)).sum()
    loss.backward()
    lines = node_lines(to_dot(loss, model, collapse=True, legend=False))
    modules = {k: v for k, v in lines.items() if k.startswith("m")}
    assert len(modules) == 3
    text = " ".join(modules.values())
    for label in ("0: FakeLinear", "1: FakeReLU", "2: FakeSequential", "0.weight (5, 3)"):
        assert label in text
    assert not any("matmul" in v for k, v in lines.items() if not k.startswith("m"))
    # input -> 0 -> 1 -> 2 -> sum -> output
    assert len(edge_lines(to_dot(loss, model, collapse=True))) == 5
    deeper = node_lines(to_dot(loss, model, collapse=2))
    assert sum(k.startswith("m") for k in deeper) == 1  # only 2.0 is two levels down


# -- graphviz: the Digraph, rendering and the fallbacks ------------------------------------


def test_draw_graph_returns_a_digraph_with_the_same_source(graphviz):
    from tinygrad_sm.viz import draw_graph

    x, w, b, loss = small_graph()
    dg = draw_graph(loss, {"w": w}, show_data=True, show_backward=True)
    assert isinstance(dg, graphviz.Digraph)
    assert dg.source == to_dot(loss, {"w": w}, show_data=True, show_backward=True)


@needs_dot
def test_renders_with_the_real_dot_program(graphviz, tmp_path):
    from tinygrad_sm.viz import draw_graph

    model = fake_mlp()
    loss = model(tg.randn(2, 4)).sum()
    loss.backward()
    dg = draw_graph(loss, model, show_backward=True)
    svg = dg.render(tmp_path / "g", format="svg", cleanup=True)
    text = Path(svg).read_text()
    assert "<svg" in text and "0: FakeLinear" in text and "legend" in text
    png = dg.render(tmp_path / "g", format="png", cleanup=True)
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "image/svg+xml" in dg._repr_mimebundle_()


def test_missing_dot_raises_an_install_hint_and_jupyter_falls_back(graphviz, monkeypatch,
                                                                   tmp_path):
    from tinygrad_sm.viz import draw_graph

    *_, loss = small_graph()
    dg = draw_graph(loss)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot`
    with pytest.raises(GraphvizNotFoundError) as info:
        dg.render(tmp_path / "g", format="svg")
    msg = str(info.value)
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install",
                 ".source"):
        assert hint in msg
    assert isinstance(info.value.__cause__, graphviz.ExecutableNotFound)
    with pytest.raises(GraphvizNotFoundError):
        dg.pipe(format="png")
    bundle = dg._repr_mimebundle_()  # what Jupyter calls: no exception
    assert "brew install graphviz" in bundle["text/plain"]
    assert dg.source in bundle["text/plain"]


def test_missing_graphviz_package_is_explained_and_to_dot_still_works(monkeypatch):
    from tinygrad_sm.viz import draw_graph, render

    *_, loss = small_graph()
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    render.digraph_class.cache_clear()
    try:
        with pytest.raises(ImportError, match="pip install graphviz"):
            draw_graph(loss)
        assert to_dot(loss).startswith("digraph computation_graph {")
    finally:
        render.digraph_class.cache_clear()


# -- backward frames -----------------------------------------------------------------------


def frames_graph():
    a = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = ((a * a).exp() + a).sum()
    return a, out  # 4 ops: mul, exp, add, sum


def test_backward_steps_replay_backward_without_touching_grad():
    a, out = frames_graph()
    steps = backward_steps(out)
    assert [fn.name if fn else None for fn, _ in steps] == [None, "sum", "add", "exp", "mul"]
    assert a.grad is None
    expected = 2 * a.data * np.exp(a.data**2) + 1
    np.testing.assert_allclose(steps[-1][1][id(a)], expected)
    np.testing.assert_allclose(steps[2][1][id(a)], [1.0, 1.0])  # after add: partial sum
    out.backward()  # the graph was not freed by the frames
    np.testing.assert_allclose(a.grad.data, expected)


def test_frame_sources_show_the_current_op_and_unknown_gradients():
    a, out = frames_graph()
    texts = frame_sources(out, {"a": a})
    assert len(texts) == 5
    assert CURRENT not in texts[0].split("\tlegend")[0] and "grad</FONT></TD>" in texts[0]
    assert ">?<" in texts[1]  # not yet known
    lines = node_lines(texts[1])
    (current,) = [v for v in lines.values() if CURRENT in v]
    assert ">#1 sum<" in current


@needs_dot
def test_backward_frames_writes_one_svg_per_step(graphviz, tmp_path):
    from tinygrad_sm.viz import backward_frames

    a, out = frames_graph()
    paths = backward_frames(out, tmp_path / "frames", {"a": a})
    assert [p.name for p in paths] == [f"step_{k:03d}.svg" for k in range(5)]
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [p.name for p in paths]
    assert all("<svg" in p.read_text() for p in paths)
    assert "step 4 of 4: mul backward" in paths[-1].read_text()


def test_backward_frames_after_backward_says_the_graph_was_freed():
    a, out = frames_graph()
    out.backward()
    with pytest.raises(RuntimeError, match="freed by backward .* draw the frames before"):
        backward_steps(out)


# -- blame: which op's backward is wrong ---------------------------------------------------


class WrongSquare(Function):
    """z = x^2, with a deliberately wrong derivative dz/dx = x (should be 2x)."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        (x,) = self.inputs
        return (g * x,)


def composite(x, w):
    return (WrongSquare.apply(x @ w).exp() + x.sum()).mean()


def test_find_wrong_ops_after_backward_says_the_values_are_gone():
    x = tg.tensor(np.random.default_rng(0).standard_normal((64, 32)), requires_grad=True)
    y = ((x * 2).tanh() ** 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"check_op: \w+ read a tensor that backward has "
                                           r"released.*before calling backward"):
        find_wrong_ops(y)


def test_a_drawing_after_backward_finds_the_tensors_the_user_holds():
    # the graph holds stand-ins after backward; a tensor the user still holds is drawn
    # (named, marked, with its data) as before, and only once
    x = tg.tensor(np.random.default_rng(0).standard_normal((64, 32)), requires_grad=True)
    h = x.tanh()
    y = (h * 3).sum()
    n_nodes = len(collect([y, h]).nodes)  # (a count: a list of the nodes would hold them)
    marks = to_dot(y, mark=[h]).count("#ff8a80")
    y.backward()
    after = collect([y, h]).nodes
    assert len(after) == n_nodes and any(n is h for n in after)
    del after
    assert "hidden" in to_dot(y, inputs={"hidden": h})
    assert to_dot(y, show_data=True).count("freed by backward") == 1  # h * 3, not h
    assert to_dot(y, mark=[h]).count("#ff8a80") == marks > 0


def test_find_wrong_ops_blames_the_op_with_the_wrong_backward():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((2, 2)) * 0.3, requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(composite, [x, w])
    out = composite(x, w)
    bad = find_wrong_ops(out)
    assert [type(n) for n in bad] == [WrongSquare]
    assert [type(n) for n in find_wrong_ops(composite, [x, w])] == [WrongSquare]
    lines = node_lines(to_dot(out, mark=bad))
    (line,) = [v for v in lines.values() if "wrong_square" in v]
    assert COLORS["bad"] in line
    assert "marked: e.g. a wrong backward" in to_dot(out, mark=bad)


def test_find_wrong_ops_passes_correct_ops_including_float32_and_casts():
    x = tg.randn(3, 4, requires_grad=True)  # float32: checked on float64 copies
    out = (x.double().tanh() @ tg.randn(4, 2).double()).log_softmax(1)[[0, 1, 2], [0, 1, 0]]
    assert find_wrong_ops(out.float().sum()) == []  # a cast to float32 is checked in float64
    cond = tg.where(x > 0, x, x * 0.5).sum()  # a boolean input stays as it is
    assert find_wrong_ops(cond.double()) == []
    big = tg.randn(20, 30, requires_grad=True)  # > 64 elements: fast mode
    state = tg.core.rng.get_rng_state()
    assert find_wrong_ops((big.double().sigmoid() * 2).sum()) == []
    assert tg.core.rng.get_rng_state() == state  # the package RNG is left as it was


# -- one training step ---------------------------------------------------------------------


def square_error(out, y):
    return ((out - y) ** 2).mean()


def test_draw_training_step_with_a_fake_module(graphviz):
    from tinygrad_sm.viz import draw_training_step

    model = fake_mlp()
    xb, yb = tg.randn(6, 4), tg.randn(6, 3)
    dg = draw_training_step(model, square_error, xb, yb, show_backward=True)
    dot = dg.source
    assert "one training step: loss" in dot
    assert "2.0: FakeLinear" in dot and "<B>xb</B>" in dot and "<B>yb</B>" in dot
    # Intermediates show their gradient too (retain_grad), not only the parameters.
    grads = [v for v in node_lines(dot).values() if "grad</FONT>" in v]
    assert len(grads) == sum(1 for k, v in node_lines(dot).items()
                             if "float32" in v and "<B>xb</B>" not in v and "<B>yb</B>" not in v
                             and "fillcolor=\"#eeeeee\"" not in v)
    assert all(p.grad is None for _, p in model.named_parameters())  # left as it was


def test_draw_training_step_with_real_nn_modules(graphviz):
    try:
        from tinygrad_sm.functional import cross_entropy
        from tinygrad_sm.nn import Linear, ReLU, Sequential
    except ImportError as err:
        pytest.skip(f"tinygrad_sm.nn is not available yet: {err}")
    from tinygrad_sm.viz import draw_training_step

    tg.manual_seed(0)
    model = Sequential(Linear(4, 8), ReLU(), Linear(8, 3))
    xb, yb = tg.randn(5, 4), tg.tensor(np.array([0, 1, 2, 1, 0]))
    dot = draw_training_step(model, cross_entropy, xb, yb).source
    cl = clusters(dot)
    assert {"0: Linear", "1: ReLU", "2: Linear"} <= set(cl)
    lines = node_lines(dot)
    assert any("<B>0.weight</B>" in lines[n] for n in cl["0: Linear"])
    assert any("relu" in lines[n] for n in cl["1: ReLU"])
    collapsed = node_lines(draw_training_step(model, cross_entropy, xb, yb,
                                              collapse=True).source)
    assert sum(k.startswith("m") for k in collapsed) == 3


@needs_dot
def test_the_example_script_draws_the_mlp(graphviz, tmp_path):
    import runpy

    script = Path(__file__).resolve().parent.parent / "examples" / "draw_mlp_graph.py"
    try:
        main = runpy.run_path(str(script), run_name="example")["main"]
    except ImportError as err:
        pytest.skip(f"tinygrad_sm.nn is not available yet: {err}")
    main(str(tmp_path))
    svg = (tmp_path / "mlp_graph.svg").read_text()
    assert "0: Linear" in svg and "2: Linear" in svg and "cross_entropy" in svg
    assert (tmp_path / "mlp_graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
