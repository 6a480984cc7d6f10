"""The lessons: every source notebook runs top to bottom with its tests passing; nbgrader releases them
without solutions or hidden tests; the released exercises fail until answered; metadata is valid."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from test_claims import check_values, claims_cell_source, claims_path, load_claims, read_claims_output

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "notebooks").iterdir() if (p / f"{p.name}.ipynb").exists())
EXPECTED = ["01_metrics", "02_pretrained_models", "03_fine_tuning", "04_precision_recall", "05_accuracy_paradox",
            "06_leakage_and_overfitting", "07_capstone"]


def _load(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _execute(nb, cwd: Path, env_extra: dict[str, str], allow_errors: bool = False):
    env = {**os.environ, **env_extra}
    env.pop("PYTEST_CURRENT_TEST", None)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    # the kernel inherits this process's environment
    old = dict(os.environ)
    os.environ.update(env_extra)
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


def test_all_lessons_present():
    assert LESSONS == EXPECTED


@pytest.mark.parametrize("lesson", LESSONS)
def test_metadata_is_valid(lesson):
    nb = _load(lesson)
    ids = [_nbg(c)["grade_id"] for c in nb.cells if _nbg(c)]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {lesson}"
    graded = [c for c in nb.cells if _nbg(c).get("grade")]
    assert graded, f"{lesson} has no graded cells"
    for c in graded:
        assert _nbg(c).get("points", 0) > 0, f"{_nbg(c)['grade_id']} has no points"
    autograded_tests = [c for c in graded if c.cell_type == "code" and not _nbg(c).get("solution")]
    assert 2 <= len(autograded_tests), f"{lesson} needs at least 2 autograded test cells"
    assert any(c.cell_type == "markdown" and _nbg(c).get("solution") for c in graded), \
        f"{lesson} needs one manually graded written answer"
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, f"{lesson}: commit notebooks with outputs cleared"
    text = "\n".join(c.source for c in nb.cells)
    assert "show_quiz(" in text, f"{lesson} must offer its practice quiz"
    for c in autograded_tests:
        if "### BEGIN HIDDEN TESTS" in c.source:
            visible = c.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "assert" in visible, f"{_nbg(c)['grade_id']}: hidden tests need a visible test beside them"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_picture_is_drawn(lesson):
    """course_lib returns Figures (it never calls plt.show): Jupyter draws one only when the call is the last
    expression of its cell, without a trailing ';'. A `ds.show(...)` or `plot_...(...)` anywhere else draws nothing."""
    import ast

    hidden = []
    for i, cell in enumerate(_load(lesson).cells):
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        body = ast.parse(source).body
        for k, stmt in enumerate(body):
            call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
            if call is None or any(kw.arg == "ax" for kw in call.keywords):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name == "show" or name.startswith("plot_"):
                if k != len(body) - 1 or source.rstrip().endswith(";"):
                    hidden.append(f"cell {i}, line {stmt.lineno}: {ast.unparse(call)[:60]}")
    assert not hidden, f"{lesson}: these figures are never drawn (make each the last line, no ';'): {hidden}"


def test_seed_questions_are_reachable_from_lessons():
    shown = set()
    for lesson in LESSONS:
        shown |= set(re.findall(r"show_quiz\(\s*[\"']([a-z0-9_]+)[\"']", "\n".join(c.source for c in _load(lesson).cells)))
    refs = set()
    for bank in shown:
        data = yaml.safe_load((ROOT / "quizzes" / f"{bank}.yaml").read_text())
        refs |= {q.get("seed_ref") for q in data["questions"]}
    for ref in ["practice-1", "practice-2", "practice-3", "practice-4", "practice-5", "self-check"]:
        assert ref in refs, f"seed question {ref} is not in any quiz a lesson shows"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_source_notebook_runs_and_passes_its_tests(lesson, tmp_path):
    work = tmp_path / lesson
    shutil.copytree(ROOT / "notebooks" / lesson, work)
    nb = _load(lesson)
    # The quoted-number check (tests/test_claims.py) rides on this run: one extra cell, in the same kernel, right
    # after Run All, evaluates every claim of tests/claims/<lesson>.yaml; the lesson is not executed again.
    claims = load_claims(lesson)[0] if claims_path(lesson).exists() else []
    if claims:
        nb.cells.append(nbformat.v4.new_code_cell(claims_cell_source(lesson, claims)))
    _execute(nb, work, {"COURSE_QUIZ_PROGRESS": str(tmp_path / "progress.json"), "MPLBACKEND": "Agg"})
    claims_cell = nb.cells.pop() if claims else None
    for c in nb.cells:
        if c.cell_type == "code" and _nbg(c).get("grade"):
            errs = [o for o in c.outputs if o.output_type == "error"]
            stderr = [o for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
            assert not errs, f"{lesson}/{_nbg(c)['grade_id']} failed: {errs}"
            assert not stderr, f"{lesson}/{_nbg(c)['grade_id']} writes to stderr (nbgrader scores that 0): {stderr}"
    if claims:
        failures = check_values(lesson, claims, read_claims_output(claims_cell))
        assert not failures, f"{len(failures)} quoted numbers disagree with the code:\n" + "\n".join(failures)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """nbgrader generate_assignment for every lesson, in a scratch copy of the course directory."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "notebooks", course / "notebooks")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "grading", course / "grading", ignore=shutil.ignore_patterns("__pycache__"))
    for lesson in LESSONS:
        res = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", lesson, "--force", "--no-db"],
                             cwd=course, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]
    return course / "release"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_release_has_no_solutions_or_hidden_tests(release, lesson):
    nb_path = release / lesson / f"{lesson}.ipynb"
    text = nb_path.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    source = _load(lesson)
    released = nbformat.read(nb_path, as_version=4)
    for c in source.cells:
        if "### BEGIN HIDDEN TESTS" in c.source:
            hidden = c.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            for line in (ln.strip() for ln in hidden.splitlines()):
                if len(line) > 25 and line.startswith("assert"):
                    assert line not in text, f"hidden test leaked into the release: {line}"
        if "### BEGIN SOLUTION" in c.source:
            sol = c.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            for line in (ln.strip() for ln in sol.splitlines()):
                if len(line) > 30:
                    assert line not in text, f"solution line leaked into the release: {line}"
    assert json.loads(nb_path.read_text())["nbformat"] == 4
    assert len(released.cells) == len(source.cells)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_released_exercises_fail_until_answered(release, lesson, tmp_path):
    work = tmp_path / lesson
    shutil.copytree(release / lesson, work)
    nb = nbformat.read(work / f"{lesson}.ipynb", as_version=4)
    _execute(nb, work, {"COURSE_QUIZ_PROGRESS": str(tmp_path / "p.json"), "MPLBACKEND": "Agg",
                        "NBGRADER_EXECUTION": "validate"}, allow_errors=True)
    tests_ = [c for c in nb.cells if c.cell_type == "code" and _nbg(c).get("grade")]
    failing = [c for c in tests_ if any(o.output_type == "error" for o in c.outputs)]
    assert len(failing) == len(tests_), (
        f"{lesson}: these test cells pass without an answer: "
        f"{[_nbg(c)['grade_id'] for c in tests_ if c not in failing]}")
