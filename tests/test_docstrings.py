"""Every example in course_lib's docstrings runs and prints what it says (the library reads like a textbook
appendix: its examples must be true)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

matplotlib.use("Agg")

import course_lib  # noqa: E402

MODULES = sorted(m.name for m in pkgutil.walk_packages(course_lib.__path__, "course_lib."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_are_true(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) in {name} failed (printed above)"


def test_the_library_has_examples() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for n in MODULES for t in finder.find(importlib.import_module(n)))
    assert examples >= 150, f"only {examples} docstring examples in course_lib"
