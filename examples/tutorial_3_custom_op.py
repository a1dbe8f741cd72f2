"""Tutorial 3: write your own op.

    python examples/tutorial_3_custom_op.py [--figures DIR | --no-figures]

A new op, SiLU (x * sigmoid(x)), with its forward and backward; gradcheck and
gradgradcheck accept it. A copy with a wrong backward is caught by gradcheck, and
find_wrong_ops points at it inside a bigger graph, drawn in red (the drawing needs the
graphviz package and Graphviz's ``dot``; figures go to DIR, default runs/tutorials).
"""


import numpy as np
from tutorial_output import figure_dir, section

import tinygrad_sm as tg
from tinygrad_sm.autograd import Function, GradcheckError, gradcheck, gradgradcheck
from tinygrad_sm.viz import draw_graph, find_wrong_ops


# --8<-- [start:silu]
class SiLU(Function):
    """z = x sigmoid(x).   dz/dx = s + x s (1 - s), with s = sigmoid(x)."""

    name = "silu"

    def forward(self, x):
        self.save_for_backward(*self.inputs)
        return x * 0.5 * (1.0 + np.tanh(0.5 * x))  # x sigmoid(x), without overflow

    def backward(self, g):
        (x,) = self.saved_tensors
        s = x.sigmoid()
        return (g * (s + x * s * (1 - s)),)  # Tensor ops: backward is differentiable too
# --8<-- [end:silu]


# --8<-- [start:bad_silu]
class BadSiLU(SiLU):
    """The same forward, and a backward that forgets the product rule: dz/dx = s."""

    name = "bad_silu"

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g * x.sigmoid(),)
# --8<-- [end:bad_silu]


def main() -> None:
    figs = figure_dir()

    section("use")
    # --8<-- [start:use]
    x = tg.tensor(np.array([-2.0, -1.0, 0.0, 0.5, 3.0]), requires_grad=True)
    z = SiLU.apply(x)
    z.sum().backward()
    print(f"x      = {x.data}")
    print(f"z      = {np.round(z.data, 4)}")
    print(f"dz/dx  = {np.round(x.grad.data, 4)}")
    print(f"z.grad_fn = {z.grad_fn}, named {z.grad_fn.name!r}")
    # --8<-- [end:use]

    section("composed")
    # --8<-- [start:composed]
    x2 = tg.tensor(x.data, requires_grad=True)
    z2 = x2 * x2.sigmoid()  # the same function from two existing ops
    z2.sum().backward()
    print(f"same_values = {np.allclose(z2.data, z.data, rtol=1e-12, atol=0)}")
    print(f"same_grads = {np.allclose(x2.grad.data, x.grad.data, rtol=1e-12, atol=0)}")
    # --8<-- [end:composed]

    section("gradcheck")
    # --8<-- [start:gradcheck]
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    print(f"gradcheck_silu = {gradcheck(SiLU.apply, [x])}")
    print(f"gradgradcheck_silu = {gradgradcheck(SiLU.apply, [x])}")
    # --8<-- [end:gradcheck]

    section("caught")
    # --8<-- [start:caught]
    x = tg.tensor(np.array([-2.0, -1.0, 0.0, 0.5, 3.0]), requires_grad=True)
    try:
        gradcheck(BadSiLU.apply, [x])
    except GradcheckError as err:
        print(err)
    # --8<-- [end:caught]

    section("find")
    # --8<-- [start:find]
    rng = np.random.default_rng(1)
    w1 = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w2 = tg.tensor(rng.standard_normal((3, 1)), requires_grad=True)
    xb = tg.tensor(rng.standard_normal((5, 4)))

    def model(w1, w2):
        return (BadSiLU.apply(xb @ w1) @ w2).tanh().mean()

    whole = gradcheck(model, [w1, w2], raise_exception=False)
    print(f"gradcheck_model = {whole}")
    loss = model(w1, w2)
    wrong = find_wrong_ops(loss)
    print(f"wrong_ops = {[op.name for op in wrong]}")
    # --8<-- [end:find]
    if figs:
        # --8<-- [start:draw]
        graph = draw_graph(loss, params={"w1": w1, "w2": w2}, inputs={"xb": xb}, mark=wrong,
                           rankdir="TB")
        graph.render(figs / "t3_wrong_op", format="svg", cleanup=True)
        # --8<-- [end:draw]


if __name__ == "__main__":
    main()
