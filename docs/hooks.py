"""MkDocs hook: every tutorial is a notebook, run while the site is built.

Each ``docs/tutorials/<n>-<name>.ipynb`` is the single source of its page and of the
runnable material. While the site is built, every notebook runs top to bottom in a fresh
Jupyter kernel (two at a time, through nbclient), and its page ``tutorials/<n>-<name>.md``
is generated from the executed notebook (nothing is written into ``docs/``):

- markdown cells as they are (``$...$`` and ``$$...$$`` are math, for Jupyter and for
  ``pymdownx.arithmatex`` alike; links to ``<n>-<name>.ipynb`` point to the pages);
- code cells as Python blocks, followed by what they printed (a ``text`` block) and what
  they displayed: Matplotlib figures (``image/png``) and Graphviz drawings
  (``image/svg+xml``) become ``images/tutorials/<stem>-<cell>-<k>.<ext>``, or
  ``images/tutorials/<name>.<ext>`` when the cell carries the tag ``figure:<name>``;
- a cell tagged ``solution`` (hidden in Jupyter by its ``source_hidden`` metadata) becomes a
  collapsed "Solution" block.

Values: a printed line ``key = value`` (``key`` a Python identifier) defines ``key``; a
cell tagged ``section:<name>`` defines the section ``name`` (its printed lines).
``tests/test_tutorials.py`` uses the functions below (they need no MkDocs) to run the
notebooks and check these values against independent references. A cell that raises, a
value printed twice with two values, or anything written on stderr fails the build.

One more event tidies the API reference: Sphinx roles in docstrings (:class:`~a.b.C`)
become plain code (``C``).
"""

from __future__ import annotations

import base64
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "docs" / "tutorials"
FIGURE_URI = "images/tutorials"  # where the figures appear on the site

VALUE = re.compile(r"^([A-Za-z_]\w*) = (.*)$")
# What a fresh machine prints once, not a problem of the notebook.
NOISE = re.compile(r"^Matplotlib is building the font cache.*$\n?", re.M)


@dataclass
class NotebookRun:
    """What one tutorial notebook printed and drew, and the executed notebook itself."""

    name: str
    notebook: Any
    stdout: str
    stderr: str
    values: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)


def tutorial_notebooks() -> list[Path]:
    """``docs/tutorials/<number>-*.ipynb``, in tutorial order."""
    return sorted(TUTORIALS.glob("[0-9]*-*.ipynb"), key=lambda p: int(p.name.split("-")[0]))


def kernel_env() -> dict[str, str]:
    """The kernel's environment: the package importable from the repo root (the notebooks
    run from their folder), one BLAS thread (notebooks run side by side on small data), and
    Jupyter's own Matplotlib backend (an inherited ``MPLBACKEND=Agg`` would hide nothing,
    but a reader's kernel has none)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("MPLBACKEND", None)
    return env


def tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cell_stdout(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def cell_stderr(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


def parse_values(name: str, cells: list[Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Values (``key = value`` lines) and sections (cells tagged ``section:<name>``)."""
    values: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        out = cell_stdout(cell)
        for tag in tags(cell):
            if tag.startswith("section:"):
                section = tag.split(":", 1)[1]
                if section in sections:
                    raise ValueError(f"{name}: two cells are tagged {tag!r}")
                sections[section] = out.rstrip("\n").splitlines()
        for line in out.splitlines():
            m = VALUE.match(line)
            if m:
                key, value = m.groups()
                if key in values and values[key] != value:
                    raise ValueError(f"{name}: value {key!r} is printed twice, as "
                                     f"{values[key]!r} and {value!r}")
                values[key] = value
    return values, sections


def run_notebook(path: Path, timeout: float = 300) -> NotebookRun:
    """Run one notebook top to bottom in a fresh kernel started in its folder."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=kernel_env())
    except nbclient.exceptions.CellExecutionError as err:
        raise RuntimeError(f"{path.name} failed:\n{str(err)[-3000:]}") from None
    cells = list(nb.cells)
    stdout = "".join(cell_stdout(c) for c in cells)
    stderr = NOISE.sub("", "".join(cell_stderr(c) for c in cells))
    values, sections = parse_values(path.name, cells)
    return NotebookRun(path.name, nb, stdout, stderr, values, sections)


def load_executed(path: Path, executed: Path) -> NotebookRun:
    """A run of ``path`` from the copy executed earlier into the folder ``executed`` (by the
    tests, which then build the site without running every notebook a second time). The
    copy must hold the same cells as the notebook, or it is refused as stale."""
    import nbformat

    copy = nbformat.read(executed / path.name, as_version=4)
    source = nbformat.read(path, as_version=4)
    if [c.source for c in copy.cells] != [c.source for c in source.cells]:
        raise RuntimeError(f"{executed / path.name} is not an executed copy of {path.name}")
    cells = list(copy.cells)
    stderr = NOISE.sub("", "".join(cell_stderr(c) for c in cells))
    values, sections = parse_values(path.name, cells)
    return NotebookRun(path.name, copy, "".join(cell_stdout(c) for c in cells), stderr,
                       values, sections)


def save_executed(runs: dict[str, NotebookRun], folder: Path) -> None:
    """Write the executed notebooks into ``folder``, for ``load_executed``."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    for name, run in runs.items():
        nbformat.write(run.notebook, folder / name)


# Set by the tests: build the site from notebooks they have just executed.
EXECUTED_ENV = "TINYGRAD_SM_EXECUTED_NOTEBOOKS"


def run_all() -> dict[str, NotebookRun]:
    """Run every tutorial notebook, as many at once as there are cores (or, with the
    environment variable ``TINYGRAD_SM_EXECUTED_NOTEBOOKS`` set to a folder, load the copies
    executed into it earlier)."""
    notebooks = tutorial_notebooks()
    executed = os.environ.get(EXECUTED_ENV)
    if executed:
        return {p.name: load_executed(p, Path(executed)) for p in notebooks}
    workers = max(1, min(len(notebooks), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        runs = list(pool.map(run_notebook, notebooks))
    return {r.name: r for r in runs}


# -- from an executed notebook to a page ------------------------------------------------------

NOTEBOOK_LINK = re.compile(r"\]\((\d+-[\w-]+)\.ipynb(#[\w-]*)?\)")
IMAGE_TYPES = {"image/svg+xml": "svg", "image/png": "png"}


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else line for line in text.split("\n"))


def _fence(lang: str, text: str) -> str:
    return f"```{lang}\n{text.rstrip()}\n```"


def to_markdown(run: NotebookRun) -> tuple[str, dict[str, bytes]]:
    """The page of an executed notebook, and the figures it displayed (site path -> bytes)."""
    stem = Path(run.name).stem
    parts: list[str] = []
    figures: dict[str, bytes] = {}
    for index, cell in enumerate(run.notebook.cells):
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            parts.append(NOTEBOOK_LINK.sub(lambda m: f"]({m.group(1)}.md{m.group(2) or ''})",
                                           source))
            continue
        if cell.get("cell_type") != "code" or not source.strip():
            continue
        named = [t.split(":", 1)[1] for t in tags(cell) if t.startswith("figure:")]
        blocks = [_fence("python", source)]
        printed = cell_stdout(cell)
        if printed.strip():
            blocks.append(_fence("text", printed))
        images = 0
        for out in cell.get("outputs", []):
            if out.get("output_type") not in ("display_data", "execute_result"):
                continue
            data = out.get("data", {})
            kind = next((k for k in IMAGE_TYPES if k in data), None)
            if kind is None:
                if "text/html" in data:  # (the explorer: an iframe with the page inline)
                    page = data["text/html"]
                    blocks.append(f'<div class="cell-html">{page.replace(chr(10), "&#10;")}</div>')
                elif "text/plain" in data:
                    blocks.append(_fence("text", data["text/plain"]))
                continue
            ext = IMAGE_TYPES[kind]
            base = named[images] if images < len(named) else f"{stem}-{index}-{images}"
            images += 1
            content = (data[kind].encode() if ext == "svg"
                       else base64.b64decode(data[kind]))
            uri = f"{FIGURE_URI}/{base}.{ext}"
            if uri in figures:
                raise ValueError(f"{run.name}: two figures are named {base}.{ext}")
            figures[uri] = content
            blocks.append(f"![Output of the cell above](../{uri})")
        body = "\n\n".join(blocks)
        if "solution" in tags(cell):
            body = '??? success "Solution"\n\n' + _indent(body, "    ")
        parts.append(body)
    download = (f"\n\n!!! tip \"This page is a notebook\"\n    Download "
                f"[`{run.name}`]({run.name}) and run it, or open all the tutorials with the "
                f"command in [Run the tutorials](../index.md#run-the-tutorials-as-notebooks).")
    title, _, rest = "\n\n".join(parts).partition("\n")
    return title + download + "\n" + rest + "\n", figures


# Some docstrings use Sphinx roles (:class:`~a.b.C`), which Markdown renders as ":class:"
# followed by code: keep the code, shortened to its last name after a "~", as Sphinx does.
SPHINX_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):<code>(~?)([^<]*)</code>")


def strip_sphinx_roles(html: str) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2)
        return f"<code>{name}</code>"

    return SPHINX_ROLE.sub(replace, html)


# -- the MkDocs events -----------------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    import logging

    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    log = logging.getLogger("mkdocs.hooks.tutorials")
    try:
        runs = run_all()
    except (RuntimeError, ValueError) as err:
        raise PluginError(f"tutorial notebooks: {err}") from err
    for run in runs.values():
        if run.stderr.strip():
            log.warning("%s wrote to stderr:\n%s", run.name, run.stderr.strip()[-2000:])
        markdown, figures = to_markdown(run)
        page = f"tutorials/{Path(run.name).stem}.md"
        files.append(File.generated(config, page, content=markdown))
        for uri, data in figures.items():
            if files.get_file_from_path(uri) is not None:
                raise PluginError(f"tutorial notebooks: two notebooks draw {uri}")
            files.append(File.generated(config, uri, content=data))
    return files


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return strip_sphinx_roles(html)
