"""MkDocs hook: the site's backward-pass explorer page is made while the site is built.

``explorer/mlp-step.html`` is what ``tinygrad-sm explore`` writes (one training step of
the default MLP on the digits), run from this checkout as the tutorial scripts are
(``docs/hooks.py``) and kept in memory: the page on the site is always of the current
code, and nothing is written into ``docs/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGE = "explorer/mlp-step.html"


def explorer_page() -> bytes:
    """The HTML that ``python -m tinygrad_sm explore`` writes, run from the repo root."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    with tempfile.TemporaryDirectory(prefix="explorer-") as tmp:
        out = Path(tmp) / "explorer.html"
        proc = subprocess.run([sys.executable, "-m", "tinygrad_sm", "explore", "--out", str(out)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"tinygrad-sm explore failed (exit {proc.returncode}):\n"
                               f"{proc.stderr[-3000:]}")
        return out.read_bytes()


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    try:
        content = explorer_page()
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        raise PluginError(f"{PAGE}: {err}") from err
    files.append(File.generated(config, PAGE, content=content))
    return files
