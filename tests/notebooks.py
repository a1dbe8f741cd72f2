"""The tutorial notebooks and the site's hook module that runs them, for the tests of
both (test_notebooks.py, test_tutorials.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "tutorials").glob("[0-9]*-*.ipynb"))


def load_hooks():
    """docs/hooks.py (not a package module) imported by path."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
