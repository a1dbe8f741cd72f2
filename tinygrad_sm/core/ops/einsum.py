"""Einstein summation: products of operands, summed over the letters the output omits.

For ``z = einsum("ik,kj->ij", a, b)`` the gradient of ``a`` is ``einsum("ij,kj->ik", g, b)``:
the output's gradient takes the operand's place, and the operand's subscripts become the
output. (A letter only the operand has was summed over, so its gradient is copied along it.)
"""

from __future__ import annotations

import numpy as np

from tinygrad_sm.core.function import Function


def parse(equation: str, n_operands: int) -> tuple[list[str], str]:
    """The operands' subscripts and the output's, with errors that name the equation.
    Without ``->`` the output is the letters used once, in alphabetical order (NumPy's and
    PyTorch's rule)."""
    eq = equation.replace(" ", "")
    if "." in eq:
        raise ValueError(f"einsum: ellipsis ('...') is not supported: {equation!r}")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != n_operands:
        raise ValueError(f"einsum: the equation {equation!r} has {len(ins)} operand(s) but "
                         f"{n_operands} were given")
    if not all(s.isalpha() for s in (*ins, out) if s):  # ('' is a 0-d operand or output)
        raise ValueError(f"einsum: subscripts must be letters: {equation!r}")
    if not arrow:
        letters = "".join(ins)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for s in (*ins, out):
        if len(set(s)) != len(s):
            raise ValueError(f"einsum: a letter repeated within one operand ({s!r} in "
                             f"{equation!r}, a diagonal) is not supported")
    if set(out) - set("".join(ins)):
        raise ValueError(f"einsum: output letters {sorted(set(out) - set(''.join(ins)))} appear "
                         f"in no operand: {equation!r}")
    return ins, out


class Einsum(Function):
    """z = einsum(equation, x_1, ..., x_n).

    dz/dx_k: einsum("out, others -> ins_k", g, other operands); letters of x_k found in
    neither g nor the others were summed over x_k alone, so that gradient is expanded along
    them."""

    def forward(self, *xs, equation):
        self.equation = equation
        self.ins, self.out = parse(equation, len(xs))
        for s, x in zip(self.ins, xs):
            if len(s) != x.ndim:
                raise ValueError(f"einsum: subscripts {s!r} name {len(s)} dims but the operand "
                                 f"has shape {x.shape}")
        return np.einsum(f"{','.join(self.ins)}->{self.out}", *xs, optimize=len(xs) > 1)

    def explain(self, err):
        if str(err).startswith("einsum:"):  # (raised above, already explained)
            return str(err)
        shapes = ", ".join(str(t.shape) for t in self.inputs)
        return f"einsum: {err} (equation {self.equation!r}, shapes {shapes})"

    def backward(self, g):
        grads = []
        for k, x in enumerate(self.inputs):
            if not x.requires_grad:
                grads.append(None)
                continue
            others = [t for i, t in enumerate(self.inputs) if i != k]
            other_subs = [s for i, s in enumerate(self.ins) if i != k]
            seen = set(self.out).union(*other_subs)
            kept = "".join(c for c in self.ins[k] if c in seen)
            eq = ",".join([self.out, *other_subs]) + "->" + kept
            gk = Einsum.apply(g, *others, equation=eq)
            if kept != self.ins[k]:  # summed over x alone: each entry had gradient g
                gk = gk.reshape(tuple(n if c in seen else 1
                                      for c, n in zip(self.ins[k], x.shape))).expand(x.shape)
            grads.append(gk if gk.dtype == x.dtype else gk.to(x.dtype))
        return tuple(grads)
