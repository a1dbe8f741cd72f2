"""Optimizers with PyTorch's names and update rules: ``SGD``, ``Adam`` and ``AdamW``.

An optimizer holds ``param_groups``: a list of dicts, each with its ``params`` (a list of
Tensors) and its own hyperparameters (``lr``, ``momentum``, ...). Schedulers change a
group's values between steps (``opt.param_groups[0]["lr"] = 0.01``); ``step()`` reads
them afresh every time.

Steps update ``p.data`` in place with NumPy and bump ``p._version`` (so a graph that saved
``p`` before the step notices the change). Nothing is recorded: the graph never grows
across steps, and a step costs a few NumPy calls per parameter.

Deliberate differences from PyTorch: no ``maximize``, ``foreach``, ``fused``, ``capturable``
or ``differentiable`` options; ``state_dict()`` returns deep copies (NumPy arrays), so a
saved state is not changed by later steps (PyTorch returns references to live tensors).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_sm.core.grad_mode import enable_grad
from tinygrad_sm.core.inplace import zero_grads
from tinygrad_sm.core.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: parameter groups, ``zero_grad``, ``state_dict`` / ``load_state_dict``.

    ``params`` is an iterable of Tensors (one group) or of dicts (one group each, with a
    ``params`` key and optional per-group hyperparameters overriding ``defaults``).
    Subclasses implement ``_update(p, grad, state, group)`` for one parameter.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor | dict):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts, but got "
                f"{type(params).__name__} (wrap a single tensor in a list)"
            )
        if hasattr(params, "parameters") and callable(params.parameters):  # a Module
            raise TypeError(f"{name}: got a {type(params).__name__} module; pass its "
                            "parameters: model.parameters()")
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; missing hyperparameters take the optimizer's defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: a param group must be a dict with a 'params' key, got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (shape {p.shape})")
            if not p.requires_grad:
                raise ValueError(
                    f"{name}: a parameter of shape {p.shape} does not require grad; "
                    "set requires_grad=True or leave it out"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a param group contains the same tensor twice")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Raise ValueError for an invalid value (subclasses extend it)."""
        name = type(self).__name__
        for key in ("lr", "weight_decay"):
            if key in group and not group[key] >= 0:
                raise ValueError(f"{name}: invalid {key} {group[key]!r} (must be >= 0)")

    # -- stepping -----------------------------------------------------------------------

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; parameters without one are skipped.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs with
        grad enabled before the update, as in PyTorch.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad  # (a property: read once)
                if g is None:
                    continue
                grad = g.data
                if grad.shape != p.data.shape:
                    raise RuntimeError(
                        f"{type(self).__name__}.step: gradient of shape {grad.shape} for a "
                        f"parameter of shape {p.shape}"
                    )
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                self._update(p.data, grad, state, group)
                p._counter[0] += 1  # (p._version += 1): graphs that saved p must know
        return loss

    def _update(self, w: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__}._update")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set ``.grad`` to None (the default), or fill it with zeros
        in place (bumping their versions)."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    # -- saving and restoring -----------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index]}]}``.

        Parameters are numbered in the order of the groups, as in PyTorch. Values are
        copies: NumPy arrays for buffers, Python numbers for counters.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: copy.deepcopy(v) for k, v in group.items() if k != "params"},
                           "params": ids})
        state = {
            index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v)
                           for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and buffers saved by :meth:`state_dict`.

        The groups must have the same sizes as this optimizer's. Keys of ``state`` may be
        ints or their strings (as after a round trip through a file); buffers are copied
        and cast to their parameter's dtype.
        """
        name = type(self).__name__
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state has {len(saved_groups)} parameter "
                f"groups, the optimizer {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            ids = [int(i) for i in np.ravel(saved["params"])]
            if len(ids) != len(mine["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: a saved group has {len(ids)} parameters, the "
                    f"matching group of this optimizer {len(mine['params'])}"
                )
            by_index.update(zip(ids, mine["params"]))
        new_groups = []
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            group = {k: self._restore_value(k, v, mine.get(k)) for k, v in saved.items()
                     if k != "params"}
            new_groups.append({**group, "params": mine["params"]})
            self._check_loaded_group(i, new_groups[-1], mine)
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, buffers in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter {key}")
            new_state[p] = {}
            for k, v in buffers.items():
                arr = np.asarray(v)
                if arr.ndim == 0 and k == "step":
                    new_state[p][k] = int(arr)
                else:
                    if arr.shape != p.shape:
                        raise ValueError(
                            f"{name}.load_state_dict: buffer {k!r} of shape {arr.shape} for a "
                            f"parameter of shape {p.shape}"
                        )
                    new_state[p][k] = arr.astype(p.dtype, copy=True)
        self.param_groups = new_groups
        self.state = new_state

    def _check_loaded_group(self, i: int, group: dict[str, Any], mine: dict[str, Any]) -> None:
        """Check a loaded group's hyperparameters as the constructor checks them."""
        name = type(self).__name__
        missing = sorted(k for k in mine if k not in group)
        if missing:
            raise ValueError(f"{name}.load_state_dict: param group {i} of the state has no "
                             f"{', '.join(map(repr, missing))}")
        try:
            self._check_hyperparameters(group)
        except ValueError as err:
            raise ValueError(f"{name}.load_state_dict: param group {i} of the state: "
                             f"{str(err).removeprefix(name + ': ')}") from None
        except TypeError as err:  # e.g. '>=' between a str and an int
            values = {k: v for k, v in group.items() if k != "params"}
            raise ValueError(f"{name}.load_state_dict: param group {i} of the state has a "
                             f"hyperparameter that is not a number: {values}") from err

    @staticmethod
    def _restore_value(key: str, value: Any, current: Any) -> Any:
        # After a round trip through a file numbers come back as 0-d arrays and tuples as
        # 1-d arrays: give them back the type the optimizer uses.
        if isinstance(value, np.ndarray | np.generic):
            value = value.tolist()
        if isinstance(current, tuple) and isinstance(value, list):
            return tuple(value)
        if isinstance(current, bool):
            return bool(value)
        return value

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (PyTorch's rule).

    For each step t, with lr gamma, weight decay lambda, momentum mu, dampening tau::

        g_t = grad + lambda * theta_{t-1}                      (if lambda != 0)
        b_t = g_t  (t = 1),   mu * b_{t-1} + (1 - tau) * g_t   (t > 1)   (if mu != 0)
        g_t = g_t + mu * b_t  (nesterov)  or  b_t                         (if mu != 0)
        theta_t = theta_{t-1} - gamma * g_t

    The momentum buffer ``b`` is per parameter (``state[p]['momentum_buffer']``).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        if not group["momentum"] >= 0:
            raise ValueError(f"SGD: invalid momentum {group['momentum']!r} (must be >= 0)")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")

    def _update(self, w: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        g = grad + wd * w if wd != 0 else grad
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=w.dtype)
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        w -= lr * g


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), PyTorch's rule, with its AMSGrad and decoupled-decay options.

    For each step t, with lr gamma, betas (beta1, beta2), weight decay lambda::

        theta_{t-1} <- theta_{t-1} (1 - gamma lambda)   (decoupled_weight_decay, as AdamW)
        g_t = grad + lambda theta_{t-1}                  (else, if lambda != 0: L2 penalty)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        v_t <- max(v_max_{t-1}, v_t)                     (amsgrad; the max is kept)
        theta_t = theta_{t-1} - gamma (m_t / (1 - beta1^t)) / (sqrt(v_t / (1 - beta2^t)) + eps)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad,
    ``max_exp_avg_sq``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        name = type(self).__name__
        betas = group["betas"] = tuple(group["betas"])
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{name}: invalid betas {betas!r} (two values in [0, 1))")
        if not group["eps"] >= 0:
            raise ValueError(f"{name}: invalid eps {group['eps']!r} (must be >= 0)")

    def _update(self, w: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], \
            group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1
        t = state["step"]
        if wd != 0 and group["decoupled_weight_decay"]:
            w *= 1 - lr * wd
        elif wd != 0:
            grad = grad + wd * w
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        w -= (lr / (1 - beta1**t)) * m / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's rule::

        theta_{t-1} <- theta_{t-1} (1 - gamma lambda)

    before the Adam update, which then sees the plain gradient. The default
    ``weight_decay`` is 0.01, as in PyTorch.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad,
                         decoupled_weight_decay=True)
