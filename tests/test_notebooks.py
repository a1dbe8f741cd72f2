"""What a reader of the tutorial notebooks relies on: a figure of ``tinygrad_sm.plot``
shows inline in Jupyter, every notebook imports only the package's public modules, and
every notebook ends with exercises whose solutions are hidden (``tests/test_tutorials.py``
executes them, solutions included)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from notebooks import NOTEBOOKS, ROOT, load_hooks


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _has(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.mark.skipif(not _has("nbclient", "nbformat", "ipykernel", "matplotlib"),
                    reason="needs nbclient, nbformat, ipykernel and matplotlib")
def test_a_plot_figure_displays_inline_without_the_magic(tmp_path):
    """The cell's last value is a Figure from tinygrad_sm.plot: Jupyter must show an image,
    not '<Figure size 600x400 with 1 Axes>', with no %matplotlib line anywhere."""
    import nbformat

    hooks = load_hooks()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from tinygrad_sm import plot\n"
                                  "import tinygrad_sm\nprint(tinygrad_sm.__file__)"),
        nbformat.v4.new_code_cell("plot.plot_softmax([1.0, 2.0, 3.0])"),
    ])
    path = tmp_path / "inline.ipynb"
    nbformat.write(nb, path)
    run = hooks.run_notebook(path)
    printed = hooks.cell_stdout(run.notebook.cells[0]).strip()
    assert Path(printed).resolve().is_relative_to(ROOT), printed  # the worktree's package
    outputs = run.notebook.cells[1].outputs
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert kinds & {"image/png", "image/svg+xml"}, outputs


def test_every_tutorial_is_a_notebook():
    assert [p.name.split("-")[0] for p in NOTEBOOKS] == [str(k) for k in range(1, 8)]
    assert not list((ROOT / "docs" / "tutorials").glob("*.md"))  # one source per tutorial
    assert not list((ROOT / "examples").glob("tutorial_*.py"))


# Paths the core restructuring removes: notebooks use the public modules only.
PRIVATE = re.compile(r"\btinygrad_sm\.(tensor|function|engine|ops|grad_mode|anomaly|creation"
                     r"|lightning)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_public_modules_and_shows_them(path):
    cells = [c for c in _cells(path) if c["cell_type"] == "code"]
    code = "\n".join(_source(c) for c in cells)
    assert not PRIVATE.search(code), PRIVATE.search(code).group(0)
    assert "import tinygrad_sm" in _source(cells[0])  # the imports are on the page
    assert not re.search(r"^\s*[%!]", code, re.M)  # no magics: plain Python a reader can copy


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_ends_with_three_exercises_and_hidden_solutions(path):
    cells = _cells(path)
    heading = next(i for i, c in enumerate(cells)
                   if c["cell_type"] == "markdown" and "## Exercises" in _source(c))
    exercises = re.findall(r"^\d+\. ", _source(cells[heading]), re.M)
    assert len(exercises) >= 3
    solutions = [c for c in cells[heading + 1:] if "solution" in c["metadata"].get("tags", [])]
    assert len(solutions) >= 3
    for cell in solutions:
        assert cell["cell_type"] == "code"
        assert cell["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    """The outputs are computed when the notebook runs (tests, site build, reader): none is
    stored, so none can go stale."""
    for cell in _cells(path):
        assert not cell.get("outputs") and cell.get("execution_count") is None


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None,
                    reason="needs ruff (pip install -e '.[dev]')")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_runs_as_a_plain_script_would_compile(path, tmp_path):
    """Copied into a .py file, the cells use no name they do not define or import:
    Jupyter's builtins such as ``display`` must be imported on the page too."""
    cells = [c for c in _cells(path) if c["cell_type"] == "code"]
    script = tmp_path / (path.stem.replace("-", "_") + ".py")
    script.write_text("\n\n".join(_source(c) for c in cells) + "\n")
    # ruff as a module of this interpreter: a venv's bin/ need not be on PATH
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                           "--select", "F821", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
