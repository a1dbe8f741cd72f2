"""The engine's reading path: the files ``tinygrad_sm/core/__init__.py`` lists, in order,
short enough for one sitting, and quoted in that order by the "Read the engine" page."""

import re
from pathlib import Path

import tinygrad_sm.core

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "tinygrad_sm" / "core"


def reading_order() -> list[tuple[str, str]]:
    return re.findall(r"^([\w/]+\.py): (.+)$", tinygrad_sm.core.__doc__, re.M)


def test_the_path_lists_existing_files_with_one_sentence_each():
    order = reading_order()
    assert [f for f, _ in order][:3] == ["tensor.py", "function.py", "backward.py"]
    for f, sentence in order:
        assert (CORE / f).is_file(), f
        assert sentence.endswith(".") and sentence.count(". ") == 0, sentence


def test_the_path_is_at_most_900_lines():
    lines = {f: len((CORE / f).read_text().splitlines()) for f, _ in reading_order()}
    assert sum(lines.values()) <= 900, lines


def test_the_docs_page_quotes_every_file_in_order():
    page = (ROOT / "docs" / "read-the-engine.md").read_text()
    quoted = re.findall(r'--8<-- "tinygrad_sm/core/([\w/]+\.py)"', page)
    assert quoted == [f for f, _ in reading_order()]
