"""Build throw-away course directories and class submissions (for the tests, the benchmark and rehearsals).

A course made here is a real nbgrader course: its ``nbgrader_config.py`` loads the repository's configuration
(sandboxed kernel, ``SafeExecute``, feedback without hidden tests) and only moves the root.

Examples
--------
>>> from grading.classroom import strip_solution_markers
>>> strip_solution_markers("x = 1\\n### BEGIN SOLUTION\\ny = 2\\n### END SOLUTION")
'x = 1\\ny = 2'
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

__all__ = ["REPO_CONFIG", "new_course", "generate", "release_notebooks", "solved", "solution_sources",
           "strip_solution_markers", "submit", "cell_by_id"]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The course's real configuration, which every course made here loads.
REPO_CONFIG = REPO_ROOT / "nbgrader_config.py"


def new_course(root: str | os.PathLike, sources: Mapping[str, str | os.PathLike]) -> Path:
    """Create a course directory: ``notebooks/<id>/`` copied from ``sources`` and a config that loads the repo's.

    Parameters
    ----------
    root : path
        Folder to create (must not exist or be empty).
    sources : mapping
        Assignment id -> folder holding its source notebook(s).

    Examples
    --------
    >>> import tempfile
    >>> course = new_course(Path(tempfile.mkdtemp()) / "c", {})
    >>> (course / "nbgrader_config.py").exists()
    True
    """
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"course folder {root} is not empty; pass a new folder")
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    for assignment, folder in sources.items():
        folder = Path(folder)
        if not any(folder.glob("*.ipynb")):
            raise ValueError(f"assignment {assignment!r}: no notebook in {folder}")
        shutil.copytree(folder, root / "notebooks" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (root / "nbgrader_config.py").write_text(
        "# A throw-away course: the repository's grading configuration, rooted here.\n"
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(REPO_CONFIG)!r})  # noqa: F821\n"
        "c.CourseDirectory.root = '.'\n")
    return root


def _nbgrader(course: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def generate(course: str | os.PathLike, assignment: str) -> None:
    """``nbgrader generate_assignment <assignment> --create --force`` in ``course``."""
    _nbgrader(Path(course), "generate_assignment", assignment, "--create", "--force")


def release_notebooks(course: str | os.PathLike, assignment: str) -> dict[str, NotebookNode]:
    """The released (student) notebooks of an assignment, by name (without ``.ipynb``)."""
    folder = Path(course) / "release" / assignment
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def strip_solution_markers(source: str) -> str:
    """The source with its ``BEGIN/END SOLUTION`` marker lines removed (the reference answer stays)."""
    return "\n".join(line for line in source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def solution_sources(source_notebook: str | os.PathLike) -> dict[str, str]:
    """grade_id -> reference answer of every solution cell of an nbgrader source notebook."""
    nb = nbformat.read(source_notebook, as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            out[meta["grade_id"]] = strip_solution_markers(cell.source)
    return out


def cell_by_id(nb: NotebookNode, grade_id: str) -> NotebookNode:
    """The cell whose nbgrader ``grade_id`` is ``grade_id`` (KeyError if none)."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def solved(release: NotebookNode, answers: Mapping[str, str], only: Iterable[str] | None = None) -> NotebookNode:
    """A copy of a released notebook with solution cells filled from ``answers`` (all, or those in ``only``)."""
    nb = nbformat.from_dict(release)
    keep = set(answers) if only is None else set(only)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in keep:
            cell.source = answers[gid]
    return nb


def submit(course: str | os.PathLike, student: str, assignment: str, notebooks: Mapping[str, NotebookNode],
           timestamp: str | None = None, edit: Callable[[dict[str, NotebookNode]], None] | None = None) -> Path:
    """Write a submission to ``submitted/<student>/<assignment>/`` (as ``nbgrader collect`` would leave it)."""
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbs = {name: nbformat.from_dict(nb) for name, nb in notebooks.items()}
    if edit is not None:
        edit(nbs)
    for name, nb in nbs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)
    return folder
