"""``WarningsToNotes``: a warning never costs points, yet stays visible.

nbgrader scores a test cell 0 when it wrote *anything* to stderr, so a correct answer whose code warns (numpy's
``RuntimeWarning: invalid value encountered in divide``, a ``UserWarning`` from the learner's own helper) would lose
the cell. This preprocessor runs right after execution and, in every code cell, moves each Python warning out of the
stderr stream into a stdout note that says it cost nothing::

    [grader] warning (it costs no points):
    /tmp/ipykernel_7/123.py:4: RuntimeWarning: invalid value encountered in divide

The learner sees it in the graded notebook and in the feedback, the instructor in the formgrader. Errors and failed
asserts are *error* outputs, which this never touches; other stderr text (not a warning) also stays where it is.

Examples
--------
>>> from nbformat.v4 import new_code_cell, new_output
>>> cell = new_code_cell("f()")
>>> cell.outputs = [new_output("stream", name="stderr", text="x.py:3: UserWarning: careful\\n  warn('careful')\\n")]
>>> out, _ = WarningsToNotes().preprocess_cell(cell, {}, 0)
>>> [o.name for o in out.outputs], "UserWarning: careful" in out.outputs[0].text
(['stdout'], True)
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode

__all__ = ["WarningsToNotes", "NOTE_HEADER", "split_warnings"]

#: First line of every note this preprocessor writes.
NOTE_HEADER = "[grader] warning (it costs no points):"

# The first line of a warning as ``warnings.formatwarning`` writes it ("file:line: Category: message"), or a bare
# "Category: message" line (some libraries print it that way). Category names end in "Warning".
_FIRST = re.compile(r"^(?:.*?:\d+: )?(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*Warning: ")


def split_warnings(text: str) -> tuple[str, str]:
    """Split stderr text into (warning text, everything else).

    A warning is its first line plus the indented source line(s) Python prints under it.

    Examples
    --------
    >>> split_warnings("a.py:1: RuntimeWarning: overflow\\n  x = e ** 800\\nreal error text\\n")
    ('a.py:1: RuntimeWarning: overflow\\n  x = e ** 800\\n', 'real error text\\n')
    """
    warned: list[str] = []
    other: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        if _FIRST.match(line):
            warned.append(line)
            inside = True
        elif inside and line.startswith((" ", "\t")) and line.strip():
            warned.append(line)
        else:
            inside = False
            other.append(line)
    return "".join(warned), "".join(other)


class WarningsToNotes(Preprocessor):
    """Turn warnings on stderr into visible stdout notes (see the module docstring).

    Examples
    --------
    >>> WarningsToNotes().enabled
    True
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.enabled = True

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                warned, other = split_warnings(output.get("text", ""))
                if warned:
                    text = warned if warned.endswith("\n") else warned + "\n"
                    outputs.append(NotebookNode(output_type="stream", name="stdout", text=f"{NOTE_HEADER}\n{text}"))
                if other:
                    outputs.append(NotebookNode(output_type="stream", name="stderr", text=other))
                continue
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources
