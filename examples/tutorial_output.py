"""What every tutorial script shares: where its figures go and how it marks the output
sections that the docs build quotes (see docs/index.md, "how the tutorials get their
numbers")."""

import sys
from pathlib import Path


def figure_dir() -> Path | None:
    """Where to write figures: ``--figures DIR`` (default runs/tutorials), or None."""
    if "--no-figures" in sys.argv:
        return None
    out = Path(sys.argv[sys.argv.index("--figures") + 1] if "--figures" in sys.argv
               else "runs/tutorials")
    out.mkdir(parents=True, exist_ok=True)
    return out


def section(name: str) -> None:
    """Start an output section: ``== name ==``."""
    print(f"\n== {name} ==")
