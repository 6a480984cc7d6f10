"""Feedback a learner can act on, that gives nothing of the hidden tests away.

nbgrader's ``ClearHiddenTests`` removes the hidden-test *source* from feedback, but a failing cell still shows its
full traceback, and IPython prints source lines around the failing one (hidden lines included).
``ClearHiddenTestsAndOutputs`` rebuilds the outputs of every cell that held hidden tests:

* a failure on a **visible** line keeps its error and message, plus that visible line (no surrounding context);
* a failure on a **hidden** line shows the assert's own message (every assert in the lessons states the property
  it checks, written to be safe to show), or, when the learner's code raised, the exception it raised;
* the grader's own notices (``KernelDied``, ``CellTimeoutError``, ``GraderIntegrityError``, ``NotebookTimeout``) and
  warning notes (``grading.nonfatal``) are kept, the notes without the source lines Python prints under a warning;
* an error that cannot be located in the cell, and anything the cell printed, is dropped (it could echo hidden data).

Instructors see the same messages, with the full traceback, in the autograded notebook (the formgrader).

Examples
--------
>>> from nbformat.v4 import new_code_cell
>>> cell = new_code_cell("assert f(1) == 2\\n### BEGIN HIDDEN TESTS\\nassert f(5) == 42, 'f doubles odd numbers'\\n"
...                      "### END HIDDEN TESTS")
>>> cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False,
...                              "locked": True, "schema_version": 3}
>>> cell.outputs = [{"output_type": "error", "ename": "AssertionError", "evalue": "f doubles odd numbers",
...                  "traceback": ["Cell In[3], line 3", "AssertionError: f doubles odd numbers"]}]
>>> out, _ = ClearHiddenTestsAndOutputs().preprocess_cell(cell, {}, 0)
>>> "42" in str(out.outputs) or "42" in out.source, out.outputs[0].evalue
(False, 'a hidden test failed: f doubles odd numbers')
"""

from __future__ import annotations

import re
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

from grading.nonfatal import NOTE_HEADER

__all__ = ["ClearHiddenTestsAndOutputs", "HIDDEN_FAILURE", "hidden_lines", "failing_line"]

#: What a student reads where a hidden test failed and nothing safe is known about why.
HIDDEN_FAILURE = "a hidden test in this cell failed (its details are not shown)"
_INCIDENTS = {"KernelDied", "CellTimeoutError", "GraderIntegrityError", "NotebookTimeout"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"(?:Cell In\s*\[\d*\],\s*line\s+|<ipython-input-[^>]*> in <module>\s*\(?\s*|"
                        r"Input In \[\d*\],?\s*(?:in <[^>]*>\(\)\s*)?line\s+)(\d+)")


def hidden_lines(source: str, begin: str = "BEGIN HIDDEN TESTS", end: str = "END HIDDEN TESTS") -> set[int]:
    """1-based numbers of the lines between (and including) the hidden-test markers.

    Examples
    --------
    >>> sorted(hidden_lines("a\\n### BEGIN HIDDEN TESTS\\nb\\n### END HIDDEN TESTS\\nc"))
    [2, 3, 4]
    """
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if begin in line:
            inside = True
        if inside:
            hidden.add(number)
        if end in line:
            inside = False
    return hidden


def failing_line(traceback: list[str]) -> int | None:
    """The line of the cell itself where an error was raised (the first cell frame), or None.

    Examples
    --------
    >>> failing_line(["\\x1b[0;32mCell In[7], line 4\\x1b[0m", "...", "Cell In[2], line 9, in f"])
    4
    """
    for entry in traceback:
        match = _CELL_LINE.search(_ANSI.sub("", entry))
        if match:
            return int(match.group(1))
    return None


def _error(ename: str, evalue: str, extra: tuple[str, ...] = ()) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[*extra, f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class ClearHiddenTestsAndOutputs(ClearHiddenTests):
    """``ClearHiddenTests`` plus safe, actionable outputs for cells that held hidden tests (see module docstring).

    Examples
    --------
    >>> ClearHiddenTestsAndOutputs().begin_test_delimeter
    'BEGIN HIDDEN TESTS'
    """

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int):
        original = cell.source
        had_hidden = self.begin_test_delimeter in original
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden and cell.cell_type == "code":
            hidden = hidden_lines(original, self.begin_test_delimeter, self.end_test_delimeter)
            lines = original.splitlines()
            kept = []
            for output in cell.get("outputs", []):
                kind = output.get("output_type")
                if kind == "stream" and output.get("name") == "stdout" and output.get("text", "").startswith(
                        NOTE_HEADER):
                    first_lines = [ln for ln in output["text"].splitlines()[1:] if ln and not ln[:1].isspace()]
                    kept.append(NotebookNode(output_type="stream", name="stdout",
                                             text="\n".join([NOTE_HEADER, *first_lines]) + "\n"))
                elif kind == "error":
                    kept.append(self._safe_error(output, hidden, lines))
            cell.outputs = kept
        return cell, resources

    @staticmethod
    def _safe_error(output: dict, hidden: set[int], lines: list[str]) -> NotebookNode:
        ename = str(output.get("ename", "Error"))
        evalue = str(output.get("evalue", ""))
        if ename in _INCIDENTS:
            return _error(ename, evalue)
        line = failing_line(list(output.get("traceback", [])))
        if line is None or not 1 <= line <= len(lines):
            return _error(ename, HIDDEN_FAILURE)
        if line not in hidden:  # a visible test failed: its own message and line, no context around it
            return _error(ename, evalue, (f"failed at line {line} of this cell: {lines[line - 1].strip()}",))
        if ename == "AssertionError":
            message = evalue.strip()
            return _error(ename, f"a hidden test failed: {message}" if message else HIDDEN_FAILURE)
        return _error(ename, f"your code raised {ename} during a hidden test: {evalue[:300]}")
