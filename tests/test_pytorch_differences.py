"""docs/pytorch-differences.md: every example runs, and each line marked ``# raises E``
raises E (so a difference that goes away, or changes, shows up here)."""

from __future__ import annotations

import builtins
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "pytorch-differences.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
RAISES = re.compile(r"#\s*raises (\w+)")


def test_the_page_has_a_preamble_and_examples():
    assert "import tinygrad_sm as tg" in BLOCKS[0]
    assert len(BLOCKS) > 10
    # max(dim) returns (values, indices) as in PyTorch: not a difference
    assert not re.search(r"\bmax\(|\.max\b", PAGE.read_text())


@pytest.mark.parametrize("block", BLOCKS[1:], ids=lambda b: b.splitlines()[0][:40])
def test_example_runs_and_raises_where_marked(block):
    scope: dict = {}
    exec(BLOCKS[0], scope)
    pending: list[str] = []
    for line in block.splitlines():
        m = RAISES.search(line)
        if not m:
            pending.append(line)
            continue
        exec("\n".join(pending), scope)
        pending = []
        error = getattr(builtins, m.group(1))
        with pytest.raises(error):
            exec(line, scope)
    exec("\n".join(pending), scope)
