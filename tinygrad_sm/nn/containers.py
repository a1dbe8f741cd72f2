"""Containers: ``Sequential`` (modules applied in order) and ``ModuleList`` (a list of
modules whose parameters are registered). Children are named '0', '1', ... so state-dict
keys match PyTorch's ('0.weight', '2.bias')."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from tinygrad_sm.nn.module import Module

__all__ = ["ModuleList", "Sequential"]


def _index(name: str, idx: int, n: int) -> int:
    if not isinstance(idx, int):
        raise TypeError(f"{name} indices must be integers or slices, not {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"{name}: index {idx} is out of range for {n} modules")
    return idx % n


def _check_module(name: str, m: Any, where: str) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{name}: {where} is not a Module but a {type(m).__name__}")
    return m


class _Container(Module):
    """What Sequential and ModuleList share: their children in order, numbered '0', '1', ..."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Any:
        name = type(self).__name__
        self.add_module(str(len(self)), _check_module(f"{name}.append", module, "argument"))
        return self


class Sequential(_Container):
    """``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=module))``: forward
    feeds each module's output to the next. Indexable (a slice gives a Sequential that keeps
    the original names, as PyTorch's), ``len``, iterable, ``append``."""

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, _check_module("Sequential", m, f"entry {name!r}"))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _check_module("Sequential", m, f"argument {i}"))

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, idx: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[_index("Sequential", idx, len(items))][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        name = list(self._modules)[_index("Sequential", idx, len(self))]
        setattr(self, name, _check_module("Sequential", module, "the new value"))

    def __delitem__(self, idx: int | slice) -> None:
        names = list(self._modules)
        for name in (names[idx] if isinstance(idx, slice)
                     else [names[_index("Sequential", idx, len(names))]]):
            delattr(self, name)


class ModuleList(_Container):
    """A list of modules, registered so that their parameters are found. It has no
    forward: iterate over it in your own module's forward."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: int | slice) -> Any:
        values = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(values[idx])
        return values[_index("ModuleList", idx, len(values))]

    def __setitem__(self, idx: int, module: Module) -> None:
        i = _index("ModuleList", idx, len(self))
        setattr(self, str(i), _check_module("ModuleList", module, "the new value"))

    def __delitem__(self, idx: int | slice) -> None:
        values = list(self._modules.values())
        del values[idx if isinstance(idx, slice) else _index("ModuleList", idx, len(values))]
        self._renumber(values)

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        values = list(self._modules.values())
        values.insert(index, _check_module("ModuleList.insert", module, "argument"))
        self._renumber(values)

    def _renumber(self, modules: list[Module]) -> None:
        """Hold exactly ``modules``, named '0', '1', ... again (as PyTorch does)."""
        for name in list(self._modules):
            delattr(self, name)
        self.extend(modules)
