"""The package's layers only look down: every import, at module level or inside a
function, goes to a module of the same layer or a lower one, and the only import cycle is
the Tensor with its ops inside ``core``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_sm"

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS = [
    ["core"],
    ["autograd"],
    ["functional", "fused"],
    ["nn", "init"],
    ["optim", "sched", "data", "samplers", "datasets", "serialization"],
    ["viz", "plot"],
    ["learner"],
    ["__init__"],  # the package itself, which gathers the public names (and __version__)
    ["cli", "__main__"],
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> int:
    top = module.split(".")[0]
    return RANK[top if top in RANK else "__init__"]  # (a name the package itself defines)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module inside the package) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else \
        module_name(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(["tinygrad_sm", *[b for b in base if b]])
                mod = f"{prefix}.{node.module}" if node.module else prefix
            else:
                mod = node.module or ""
            # ``from tinygrad_sm import nn`` imports the module tinygrad_sm.nn; a name that
            # is not a module is cut back to the module that holds it, where it is used
            names = [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("tinygrad_sm.") and name != "tinygrad_sm.":
                found.append((node.lineno, name.removeprefix("tinygrad_sm.")))
    return found


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_every_module_has_a_layer():
    for name in all_modules():
        assert name.split(".")[0] in RANK, f"{name}: add its top-level name to LAYERS"


def test_imports_only_look_down():
    bad = []
    for name, path in all_modules().items():
        for line, target in imports(path):
            if layer(target) > layer(name):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports "
                           f"tinygrad_sm.{target} (layer {layer(target)}) from layer "
                           f"{layer(name)}")
    assert not bad, "imports that look up:\n" + "\n".join(bad)


def test_no_import_cycles_outside_core():
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for _, target in imports(path):
            # a module, or a name inside one: keep the longest prefix that is a module
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                targets.add(target)
        graph[name] = targets
    for name in graph:  # packages import their submodules: not a cycle through them
        if modules[name].name == "__init__.py":
            graph[name] = set()
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    outside_core = [sorted(c) for c in cycles if not all(m.startswith("core") for m in c)]
    assert not outside_core, f"import cycles: {outside_core}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                out.append(component)
    return out


def test_the_checker_finds_an_upward_import(tmp_path, monkeypatch):
    # the test above must be able to fail: a core module importing nn is reported
    fake = tmp_path / "tinygrad_sm"
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "x.py").write_text("def f():\n    from tinygrad_sm.nn import Linear\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert imports(fake / "core" / "x.py") == [(2, "nn.Linear")]
    try:
        test_imports_only_look_down()
    except AssertionError as err:
        assert "core/x.py:2 imports tinygrad_sm.nn" in str(err)
    else:
        raise AssertionError("an upward import went unnoticed")


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(map(sorted, _strongly_connected(graph))) == [["a", "b", "c"], ["d"]]
