"""A small authoring aid for lesson notebooks: build nbgrader cells without hand-writing their metadata.

    from scripts.nbbuild import md, code, solution, tests, written, notebook
    nb = notebook([md("# Lesson"), solution("def f(x):\\n    ### BEGIN SOLUTION\\n    ...", "f"), tests("assert f(1) == 2", "f_tests", 1)])
    nbformat.write(nb, "notebooks/01_metrics/01_metrics.ipynb")

The .ipynb files in notebooks/ are the source of truth; this only saves typing nbgrader's metadata
(schema v3: grade, solution, locked, task, grade_id, points).
"""

from __future__ import annotations

import re
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None,
          task: bool = False) -> dict:
    if not _ID.match(grade_id):
        raise ValueError(f"grade_id {grade_id!r} may only hold letters, digits, '_' and '-'.")
    m = {"grade": grade, "solution": solution, "locked": locked, "task": task, "grade_id": grade_id,
         "schema_version": 3}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def _clean(src: str) -> str:
    return textwrap.dedent(src).strip("\n")


def md(src: str) -> nbformat.NotebookNode:
    """A plain markdown cell."""
    return new_markdown_cell(_clean(src))


def code(src: str) -> nbformat.NotebookNode:
    """A plain (ungraded, unlocked) code cell."""
    return new_code_cell(_clean(src))


def readonly(src: str, grade_id: str, *, markdown: bool = False) -> nbformat.NotebookNode:
    """A locked cell the learner cannot change (restored at grading)."""
    cell = new_markdown_cell(_clean(src)) if markdown else new_code_cell(_clean(src))
    cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return cell


def solution(src: str, grade_id: str) -> nbformat.NotebookNode:
    """An autograded answer cell: the part between ### BEGIN SOLUTION / ### END SOLUTION is removed."""
    if "### BEGIN SOLUTION" not in src:
        raise ValueError(f"solution cell {grade_id} has no '### BEGIN SOLUTION' marker")
    cell = new_code_cell(_clean(src))
    cell.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
    return cell


def tests(src: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """A locked, graded test cell (may hold ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS)."""
    cell = new_code_cell(_clean(src))
    cell.metadata.update(_meta(grade_id, grade=True, solution=False, locked=True, points=points))
    return cell


def written(src: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """A manually graded written answer (markdown, graded and solution)."""
    cell = new_markdown_cell(_clean(src))
    cell.metadata.update(_meta(grade_id, grade=True, solution=True, locked=False, points=points))
    return cell


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb
