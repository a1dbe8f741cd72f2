"""MkDocs hook: every number and figure of the tutorials comes from running their scripts.

While the site is built, each ``examples/tutorial_*.py`` runs once (in parallel, as
``python examples/tutorial_N_x.py --figures DIR``). What it prints and draws goes into
the pages:

- a printed line ``== name ==`` starts the output section ``name``; ``== _ ==`` starts
  lines that are not shown as output (values that only the prose quotes);
- a printed line ``key = value`` (``key`` a Python identifier) defines the value ``key``;
- every file the script writes into ``DIR`` becomes ``images/tutorials/<file>`` on the
  site (in memory: nothing is written into ``docs/``).

A tutorial page names its script in its front matter (``script: tutorial_4_softmax.py``)
and uses

- ``{{ key }}`` for a value (inline), and
- ``{{ output name }}`` for the lines printed in section ``name`` (a ``text`` block);

an unknown key or section, a duplicate key, a failing script or anything a script writes
on stderr fails the build. The code shown on a page is included from the same script by
``pymdownx.snippets`` (``--8<-- "examples/tutorial_4_softmax.py:overflow"``), so the page
shows the code that produced its numbers. ``tests/test_tutorials.py`` uses the functions
below (they need no MkDocs) to run the scripts and check their numbers.

One more event tidies the API reference: Sphinx roles in docstrings (:class:`~a.b.C`)
become plain code (``C``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIGURE_URI = "images/tutorials"  # where the figures appear on the site

SECTION = re.compile(r"^== (\w+) ==$")
VALUE = re.compile(r"^([A-Za-z_]\w*) = (.*)$")
PLACEHOLDER = re.compile(r"\{\{\s*(output\s+)?(\w+)\s*\}\}")
# What a fresh machine prints once, not a problem of the script.
NOISE = re.compile(r"^Matplotlib is building the font cache.*$\n?", re.M)


@dataclass
class ScriptRun:
    """What one tutorial script printed and drew."""

    script: str
    stdout: str
    stderr: str
    values: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)


def tutorial_scripts() -> list[Path]:
    """``examples/tutorial_<number>_*.py``, in tutorial order."""
    return sorted(EXAMPLES.glob("tutorial_[0-9]*_*.py"),
                  key=lambda p: int(p.name.split("_")[1]))


def script_env() -> dict[str, str]:
    """The environment a script runs in: the package importable from the repo root, a
    headless matplotlib, and one BLAS thread (scripts run side by side on small data)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
                OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def parse_output(script: str, stdout: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Values (``key = value`` lines) and sections (lines after ``== name ==``)."""
    values: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        m = SECTION.match(line)
        if m:
            if m.group(1).startswith("_"):  # "== _ ==": values only, never shown
                current = None
                continue
            if m.group(1) in sections:
                raise ValueError(f"{script}: section {m.group(1)!r} is printed twice")
            current = sections[m.group(1)] = []
            continue
        if current is not None:
            current.append(line)
        m = VALUE.match(line)
        if m:
            key, value = m.groups()
            if key in values and values[key] != value:
                raise ValueError(f"{script}: value {key!r} is printed twice, as "
                                 f"{values[key]!r} and {value!r}")
            values[key] = value
    for lines in sections.values():  # blank lines between sections are not output
        while lines and not lines[-1].strip():
            lines.pop()
    return values, sections


def run_script(path: Path, figures: bool = True, timeout: float = 300) -> ScriptRun:
    """Run one tutorial script from the repo root and collect its output and figures."""
    with tempfile.TemporaryDirectory(prefix="tutorial-figures-") as tmp:
        args = ["--figures", tmp] if figures else ["--no-figures"]
        proc = subprocess.run([sys.executable, str(path), *args], cwd=ROOT, env=script_env(),
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{path.name} failed (exit {proc.returncode}):\n"
                               f"{proc.stderr[-3000:]}")
        drawn = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}
    values, sections = parse_output(path.name, proc.stdout)
    stderr = NOISE.sub("", proc.stderr)
    return ScriptRun(path.name, proc.stdout, stderr, values, sections, drawn)


def run_all(figures: bool = True) -> dict[str, ScriptRun]:
    """Run every tutorial script, as many at once as there are cores."""
    scripts = tutorial_scripts()
    workers = max(1, min(len(scripts), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        runs = list(pool.map(lambda p: run_script(p, figures), scripts))
    return {r.script: r for r in runs}


def render(markdown: str, run: ScriptRun) -> str:
    """Replace ``{{ key }}`` and ``{{ output name }}`` with what ``run`` printed."""

    def replace(m: re.Match[str]) -> str:
        is_output, name = bool(m.group(1)), m.group(2)
        if is_output:
            if name not in run.sections:
                raise KeyError(f"{run.script} prints no section {name!r} "
                               f"(it prints {sorted(run.sections)})")
            # An output block alone on its line keeps that line's indentation (admonitions).
            line_start = markdown.rfind("\n", 0, m.start()) + 1
            indent = markdown[line_start:m.start()]
            indent = indent if not indent.strip() else ""
            body = ["```text", *run.sections[name], "```"]
            return ("\n" + indent).join(body)
        if name not in run.values:
            raise KeyError(f"{run.script} prints no value {name!r}")
        value = run.values[name]
        line_start = markdown.rfind("\n", 0, m.start()) + 1
        if not markdown[line_start:m.start()].strip() and re.match(r"\d+[.)](\s|$)|[-+*#>]\s",
                                                                   value + markdown[m.end():]):
            # "3. A" at the start of a line would turn the sentence into a list item.
            raise KeyError(f"{{{{ {name} }}}} = {value!r} starts a line and would be read as "
                           "Markdown syntax: reflow the paragraph")
        return value

    return PLACEHOLDER.sub(replace, markdown)


# Some docstrings use Sphinx roles (:class:`~a.b.C`), which Markdown renders as ":class:"
# followed by code: keep the code, shortened to its last name after a "~", as Sphinx does.
SPHINX_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):<code>(~?)([^<]*)</code>")


def strip_sphinx_roles(html: str) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2)
        return f"<code>{name}</code>"

    return SPHINX_ROLE.sub(replace, html)


# -- the MkDocs events -----------------------------------------------------------------------

_runs: dict[str, ScriptRun] = {}


def on_files(files: Any, config: Any) -> Any:
    import logging

    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    log = logging.getLogger("mkdocs.hooks.tutorials")
    try:
        _runs.clear()
        _runs.update(run_all())
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as err:
        raise PluginError(f"tutorial scripts: {err}") from err
    owner: dict[str, str] = {}
    for run in _runs.values():
        if run.stderr.strip():
            log.warning("%s wrote to stderr:\n%s", run.script, run.stderr.strip()[-2000:])
        for name, data in run.figures.items():
            if name in owner:
                raise PluginError(f"tutorial scripts: {run.script} and {owner[name]} both "
                                  f"draw {name}")
            owner[name] = run.script
            files.append(File.generated(config, f"{FIGURE_URI}/{name}", content=data))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    from mkdocs.exceptions import PluginError

    script = page.meta.get("script")
    if script is None:  # not a tutorial: nothing to fill in
        return markdown
    if script not in _runs:
        raise PluginError(f"{page.file.src_uri}: script {script!r} is not one of the "
                          f"tutorial scripts {sorted(_runs)}")
    try:
        return render(markdown, _runs[script])
    except KeyError as err:
        raise PluginError(f"{page.file.src_uri}: {err.args[0]}") from None


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return strip_sphinx_roles(html)
