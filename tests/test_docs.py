"""Every Python code block in the README and docs/*.md runs."""

import importlib.util
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# pytorch-differences.md shows errors on purpose: tests/test_pytorch_differences.py runs it.
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md")
                                     if p.name != "pytorch-differences.md")]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks():
    for page in PAGES:
        for i, code in enumerate(BLOCK.findall(page.read_text())):
            if "class Mul(BroadcastOp)" in code:  # an excerpt of ops/elementwise.py, not a script
                continue  # (test_op_excerpt_is_verbatim keeps it true)
            if code.startswith("--8<--"):  # a source file quoted whole (test_reading_path)
                continue
            # The PyTorch recipes run where torch is installed.
            needs_torch = "import torch" in code and importlib.util.find_spec("torch") is None
            marks = pytest.mark.skip(reason="needs torch") if needs_torch else ()
            yield pytest.param(code, id=f"{page.name}-{i}", marks=marks)


@pytest.mark.parametrize("code", blocks())
def test_code_block_runs(code):
    exec(compile(code, "<doc>", "exec"), {"__name__": "__doc__"})


def test_op_excerpt_is_verbatim():
    page = (ROOT / "docs" / "engine.md").read_text()
    (excerpt,) = [b for b in BLOCK.findall(page) if "class Mul(BroadcastOp)" in b]
    assert excerpt in (ROOT / "tinygrad_sm" / "core" / "ops" / "elementwise.py").read_text()
