"""``Parameter`` and ``Module``, the base of every layer and model.

A Module registers what is assigned to it: ``self.w = Parameter(...)`` and
``self.layer = Linear(...)`` are recorded (in assignment order) by ``__setattr__``, the
course's DummyModule pattern, so ``parameters()`` can find every weight of a model by
walking the tree. Registered objects are also kept as ordinary attributes, so reading
``self.w`` in ``forward`` costs a plain attribute lookup.

``state_dict()`` names entries exactly as PyTorch does (``0.weight``, ``layers.1.bias``),
so weights move between the two as NumPy arrays.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from tinygrad_sm.core.args import _as_array, _native
from tinygrad_sm.core.bookkeeping import _scope
from tinygrad_sm.core.grad_mode import no_grad
from tinygrad_sm.core.inplace import zero_grads
from tinygrad_sm.core.tensor import Tensor

__all__ = ["IncompatibleKeys", "Module", "Parameter", "RemovableHandle"]


class Parameter(Tensor):
    """A Tensor that requires grad (by default) and that a Module registers when it is
    assigned as an attribute. Like ``torch.nn.Parameter``, it shares memory with the
    Tensor or array it is made from (a list or number is converted, floats to float32)."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        arr = np.zeros(0, np.float32) if data is None else _as_array(data, copy=False)
        super().__init__(np.empty(0, arr.dtype))  # sets up the other fields, copying nothing
        self.data = arr  # share the caller's memory, as torch.nn.Parameter does
        if isinstance(data, Tensor) and arr is data.data:
            self._share_counter(data)  # and a Tensor's version counter, as a view would
        if requires_grad:
            self.requires_grad_()

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` unregisters the hook
    (also usable as a context manager)."""

    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Any]) -> None:
        self.hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    return lines[0] if len(lines) == 1 else "\n".join([lines[0]] + [" " * n + ln
                                                                      for ln in lines[1:]])


class Module:
    """Base class of layers and models: subclass it, assign Parameters and sub-Modules in
    ``__init__`` (after ``super().__init__()``), and define ``forward``.

    ``module(x)`` runs ``forward`` with ``tinygrad_sm.core.function._scope.current`` set to the
    module (so each recorded op knows which module made it), then the forward hooks."""

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = {}
        d["training"] = True

    # -- registration ---------------------------------------------------------------------

    def _registries(self, name: str) -> dict[str, Any]:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        return self.__dict__

    def _forget(self, name: str, keep: str = "") -> None:
        """Drop ``name`` from every registry but ``keep`` (where an assignment then keeps
        its original position, so re-assigning a layer does not reorder the state dict)."""
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg != keep:
                d[reg].pop(name, None)
        d["_non_persistent"].discard(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            return self._register("__setattr__", "_parameters", name, value, Parameter)
        if isinstance(value, Module):
            return self._register("__setattr__", "_modules", name, value, Module)
        d = self.__dict__
        if "_parameters" in d:  # re-assigning a registered name keeps it registered
            for registry, kind, what in _REGISTRIES:
                if name in d[registry]:
                    if value is not None and not isinstance(value, kind):
                        raise TypeError(f"cannot assign {type(value).__name__} as {what} "
                                        f"{name!r} of {type(self).__name__} ({kind.__name__} "
                                        "or None expected)")
                    d[registry][name] = value
                    break
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if "_parameters" in self.__dict__:
            self._forget(name)
        object.__delattr__(self, name)

    def _register(self, caller: str, registry: str, name: str, value: Any, kind: type) -> None:
        """Store ``value`` (a ``kind`` or None) as ``name`` in ``registry`` and as an
        attribute, after dropping ``name`` from the other registries."""
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{caller}: {name!r} must be a {kind.__name__} or None, got "
                            f"{type(value).__name__}")
        self._registries(name)
        self._forget(name, registry)
        self.__dict__[registry][name] = value
        object.__setattr__(self, name, value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or a None placeholder, left out of state_dict) as ``name``."""
        self._register("register_parameter", "_parameters", name, param, Parameter)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a Tensor that is state but not a parameter (saved in state_dict unless
        ``persistent=False``; never returned by ``parameters()``)."""
        self._register("register_buffer", "_buffers", name, tensor, Tensor)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._register("add_module", "_modules", name, module, Module)

    register_module = add_module

    # -- running ----------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        prev = _scope.current
        _scope.current = self
        try:
            out = self.forward(*args, **kwargs)
        finally:
            _scope.current = prev
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks.values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward; a non-None return
        value replaces the output. Returns a handle whose ``remove()`` unregisters it."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -- walking the tree -----------------------------------------------------------------

    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and all below it, with dotted names ('' for this one)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                           remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in m.__dict__[registry].items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, e.g. ('layers.0.weight', ...); a parameter
        shared by two modules is listed once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module, as
        PyTorch does; returns self. Typical use: ``model.apply(init_weights)``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and gradients --------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``self.training``) here and in every submodule; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)`` (Dropout becomes the identity)."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters: set them to None (the default, as in
        PyTorch), or fill them with zeros in place (bumping their versions)."""
        zero_grads(self.parameters(), set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, dtype: Any) -> Module:
        """Convert every floating parameter and buffer to ``dtype`` in place (the
        Parameter objects stay the same, so an optimizer holding them keeps working)."""
        dtype = _native(dtype, "Module.to")
        for t in itertools.chain(self.parameters(), self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dtype:
                t.data = t.data.astype(dtype)
                t.grad = None
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # -- state ------------------------------------------------------------------------------

    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        for prefix, m in self.named_modules(remove_duplicate=False):
            dot = f"{prefix}." if prefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    yield dot + name, p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    yield dot + name, b

    def state_dict(self, *, keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, with PyTorch's keys (a shared
        parameter appears under each of its names, as in PyTorch). The values are
        detached Tensors sharing memory with the parameters (``keep_vars=True``: the
        Parameters themselves): copy them (``{k: v.numpy().copy() ...}``) to keep a
        snapshot while training goes on."""
        return OrderedDict((k, v if keep_vars else v.detach()) for k, v in self._state_items())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy values (Tensors, NumPy arrays or nested lists) into the parameters and
        buffers, in place, casting to each parameter's dtype.

        Every problem is collected first and reported in one RuntimeError, and nothing is
        changed if there is one: a key of the model missing from ``state_dict`` or one
        ``state_dict`` has and the model has not (both only when ``strict``), or a value
        whose shape differs (always). Returns the missing and unexpected keys."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, values = [], {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = v.data if isinstance(v, Tensor) else np.asarray(v)
            if arr.dtype.kind not in "biuf":
                errors.append(f"value for {k} is not numeric (dtype {arr.dtype})")
            elif arr.shape != target.shape:
                errors.append(f"size mismatch for {k}: copying a param with shape {arr.shape} "
                              f"from checkpoint, the shape in current model is {target.shape}.")
            else:
                values[k] = arr
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for k, arr in values.items():
                own[k].copy_(arr)
        return IncompatibleKeys(missing, unexpected)

    # -- printing ---------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (the layer's options)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_addindent(repr(m), 2)}" for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


# (registry, the type it holds, what an error calls an entry), for Module.__setattr__
_REGISTRIES = (("_parameters", Parameter, "parameter"), ("_modules", Module, "child module"),
               ("_buffers", Tensor, "buffer"))
