"""Feedback that gives nothing of the hidden tests away: neither their code nor what their failures printed.

nbgrader's ``ClearHiddenTests`` removes the hidden-test *source* from feedback, but a failing hidden ``assert`` still
shows its own line (and any message with the expected value) in the traceback. ``ClearHiddenTestsAndOutputs`` also
reduces the outputs of a cell that held hidden tests to the bare error name.

Examples
--------
>>> from grading.feedback import ClearHiddenTestsAndOutputs
>>> ClearHiddenTestsAndOutputs().begin_test_delimeter
'BEGIN HIDDEN TESTS'
"""

from __future__ import annotations

from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

__all__ = ["ClearHiddenTestsAndOutputs", "HIDDEN_FAILURE"]

#: What a student reads where a hidden test failed.
HIDDEN_FAILURE = "a hidden test in this cell failed (its details are not shown)"


class ClearHiddenTestsAndOutputs(ClearHiddenTests):
    """``ClearHiddenTests`` plus: outputs of cells that held hidden tests keep only the error name.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell
    >>> cell = new_code_cell("assert f(1) == 2\\n### BEGIN HIDDEN TESTS\\nassert f(5) == 42\\n### END HIDDEN TESTS")
    >>> cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False,
    ...                              "locked": True, "schema_version": 3}
    >>> cell.outputs = [{"output_type": "error", "ename": "AssertionError", "evalue": "expected 42",
    ...                  "traceback": ["assert f(5) == 42"]}]
    >>> out, _ = ClearHiddenTestsAndOutputs().preprocess_cell(cell, {}, 0)
    >>> "42" in str(out.outputs) or "42" in out.source
    False
    """

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int):
        had_hidden = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden and cell.cell_type == "code":
            kept = []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    ename = output.get("ename", "Error")
                    kept.append(NotebookNode(output_type="error", ename=ename, evalue=HIDDEN_FAILURE,
                                             traceback=[f"\x1b[0;31m{ename}\x1b[0m: {HIDDEN_FAILURE}"]))
            cell.outputs = kept
        return cell, resources
