"""Hostile submissions, end to end: a real course in a temp folder, real nbgrader, real kernels, ``grade.py``.

One small assignment (``tests/fixtures/grading/ps0``: 5 points in three parts, visible and hidden tests) and a class
whose students each try one thing. Every student must get the score the honest part of their work deserves, the
class must finish, the gradebook must keep everything it held (an earlier student's manual grades included), and a
second run must change nothing. The table kind -> expected -> got is printed and written to
``test-artifacts/grading_hostile.md``.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from grading.classroom import (  # noqa: E402
    cell_by_id,
    generate,
    new_course,
    release_notebooks,
    solution_sources,
    solved,
    submit,
)
from grading.sandbox import ensure_bubblewrap  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]  # nbgrader's own session noise

FIXTURE = REPO / "tests" / "fixtures" / "grading" / "ps0"
GRADE = [sys.executable, str(REPO / "grading" / "grade.py")]
# small limits keep the suite quick: 5 s per cell, 1.5 GB per kernel (torch needs ~1 GB)
LIMITS = ["--timeout", "5", "--memory-mb", "1536", "--jobs", "2", "--no-install"]

NAIVE_SOFTMAX = "def softmax(logits):\n    e = logits.exp()  # overflows for large logits\n    return e / e.sum(dim=1, keepdim=True)"


# Bounded so that it cannot hurt CI even if the cap failed: at most 300 `sleep 0.5` children, every one reaped.
FORK_BOMB = textwrap.dedent("""
    import subprocess
    children, stopped = [], "none"
    try:
        for _ in range(300):
            children.append(subprocess.Popen(["sleep", "0.5"]))
    except OSError as err:
        stopped = type(err).__name__
    for child in children:
        child.wait()
    with open("forks.txt", "w") as report:
        report.write(f"{len(children)} {stopped}")
    """)


def _cases(course: Path) -> list[dict]:
    """kind, student, answers overriding the reference ones (None: keep the blank stub), edit, expected."""
    gradebook = course / "gradebook.db"
    source = course / "notebooks" / "ps0" / "ps0.ipynb"
    cheat = textwrap.dedent(f"""
        import glob, json, os
        found = []
        for pattern in ["../../../notebooks/*/*.ipynb", "../../../source/*/*.ipynb", {str(source)!r},
                        "/work/*/notebooks/*/*.ipynb", "/tmp/*/*/notebooks/ps0/*.ipynb"]:
            found += glob.glob(pattern)
        with open("cheat.txt", "w") as report:
            report.write(json.dumps(found))
        for path in found:
            for cell in json.load(open(path))["cells"]:
                if cell.get("metadata", {{}}).get("nbgrader", {{}}).get("solution"):
                    exec("".join(cell["source"]))
        """)
    writer = textwrap.dedent(f"""
        import os, sqlite3
        outcomes = []
        for path in [{str(gradebook)!r}, "../../../gradebook.db", "../../gradebook.db"]:
            try:
                con = sqlite3.connect(path)
                con.execute("update grade set manual_score = 100")
                con.commit()
                outcomes.append(path + ": updated")
            except Exception as err:
                outcomes.append(path + ": " + type(err).__name__)
            try:
                with open(path, "r+b") as f:
                    f.write(b"garbage" * 100)
                outcomes.append(path + ": overwritten")
            except Exception as err:
                outcomes.append(path + ": " + type(err).__name__)
        with open("attack.txt", "w") as report:
            report.write("\\n".join(outcomes))
        """)

    def tamper(nbs):
        cell = cell_by_id(nbs["ps0"], "test_accuracy")
        cell.source = "pass"
        cell.metadata["nbgrader"]["points"] = 100

    def delete_hidden(nbs):
        nbs["ps0"].cells = [c for c in nbs["ps0"].cells
                            if c.metadata.get("nbgrader", {}).get("grade_id") != "test_softmax_hidden"]

    accuracy = "accuracy"
    return [
        dict(kind="correct", student="s01_correct", answers={}, expected=5),
        dict(kind="blank", student="s02_blank", blank=True, expected=0),
        dict(kind="partially correct", student="s03_partial", expected=3,
             answers={"softmax": NAIVE_SOFTMAX, "count_positives": "def count_positives(y):\n    return len(y)"}),
        dict(kind="infinite loop", student="s04_loop", expected=3, note="CellTimeoutError",
             answers={accuracy: "def accuracy(y_true, y_pred):\n    while True:\n        pass"}),
        dict(kind="loop that ignores the interrupt", student="s05_stubborn", expected=3, note="ignored the interrupt",
             answers={accuracy: "import time\ndef accuracy(y_true, y_pred):\n    while True:\n        try:\n"
                                "            time.sleep(0.05)\n        except KeyboardInterrupt:\n            pass"}),
        dict(kind="os._exit(1)", student="s06_exit", expected=3, note="KernelDied",
             answers={accuracy: "import os\ndef accuracy(y_true, y_pred):\n    os._exit(1)"}),
        dict(kind="memory bomb", student="s07_memory", expected=3, note="MemoryError",
             answers={accuracy: "def accuracy(y_true, y_pred):\n    hog = []\n    while True:\n"
                                "        hog.append(bytearray(100_000_000))"}),
        dict(kind="tampered test cell (pass, 100 points)", student="s08_tamper", expected=3,
             answers={accuracy: None}, edit=tamper),
        dict(kind="deleted hidden test cell", student="s09_deleted", expected=4,
             answers={"softmax": NAIVE_SOFTMAX}, edit=delete_hidden),
        dict(kind="__eq__ always True", student="s10_eq", expected=3,
             answers={accuracy: "class Anything(float):\n    def __eq__(self, other):\n        return True\n"
                                "    def __sub__(self, other):\n        return 0.0\n    __hash__ = float.__hash__\n"
                                "def accuracy(y_true, y_pred):\n    return Anything(0.0)"}),
        dict(kind="monkeypatch torch.allclose", student="s11_patch_torch", expected=2, note="GraderIntegrityError",
             answers={"softmax": "torch.allclose = lambda *args, **kwargs: True\ndef softmax(logits):\n"
                                 "    return torch.full_like(logits, 1.0 / logits.shape[1])"}),
        dict(kind="monkeypatch the notebook's checker", student="s12_patch_helper", expected=2,
             note="GraderIntegrityError",
             answers={"softmax": "close_tensors = lambda a, b, tol=1e-6: True\ndef softmax(logits):\n"
                                 "    return torch.zeros_like(logits)"}),
        dict(kind="correct code with a torch warning", student="s13_warning", expected=5,
             answers={accuracy: "def accuracy(y_true, y_pred):\n    y_true = torch.tensor(y_true)  # warns for tensors\n"
                                "    y_pred = torch.tensor(y_pred)\n    if y_true.shape != y_pred.shape:\n"
                                "        raise ValueError('shapes differ')\n"
                                "    return float((y_true == y_pred).double().mean())"}),
        dict(kind="warning inside the function during a test cell", student="s19_warn_inside", expected=5,
             answers={accuracy: "import warnings\nimport numpy as np\ndef accuracy(y_true, y_pred):\n"
                                "    warnings.warn('accuracy: my own helper warns', UserWarning)\n"
                                "    np.array([0.0]) / np.array([0.0])  # RuntimeWarning: invalid value\n"
                                "    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)\n"
                                "    if y_true.shape != y_pred.shape:\n        raise ValueError('shapes differ')\n"
                                "    return float((y_true == y_pred).double().mean())"}),
        dict(kind="warning outside the function (cell top level, and a hook during every test cell)",
             student="s20_warn_outside", expected=5,
             answer_prefix="import warnings\nwarnings.simplefilter('always')\n"
                           "warnings.warn('top-level warning in the answer cell', UserWarning)\n"
                           "get_ipython().events.register('pre_run_cell', lambda *a: warnings.warn("
                           "'a hook warns before every cell', RuntimeWarning))\n"),
        dict(kind="monkeypatch the exact-type helper", student="s21_patch_exact", expected=4,
             note="GraderIntegrityError",
             answers={"count_positives": "import course_lib.exact\n"
                                         "course_lib.exact.same = lambda *args, **kwargs: None\n"
                                         "def count_positives(y):\n    return 0"}),
        dict(kind="fork bomb (bounded: 300 short sleeps, all reaped)", student="s22_forks", expected=5, sandbox=True,
             answers={"count_positives": FORK_BOMB + "def count_positives(y):\n    return int((np.asarray(y) == 1).sum())"}),
        dict(kind="reads the solutions in source/", student="s14_cheat", expected=0, sandbox=True,
             answers={accuracy: cheat, "softmax": None, "count_positives": None}),
        dict(kind="writes gradebook.db", student="s15_writer", expected=5, sandbox=True, answer_prefix=writer),
        dict(kind="prints 100 MB", student="s16_flood", expected=5, note="output truncated",
             answer_prefix="print('x' * 100_000_000)\n"),
        dict(kind="forged partial credit (display hook)", student="s17_forge", expected=0, blank=True,
             extra_cell="get_ipython().events.register('pre_run_cell', lambda *a: get_ipython().displayhook(1.0))"),
        dict(kind="corrupt notebook (not JSON)", student="s18_corrupt", expected=None, raw="{ this is not json"),
    ]


def _build_submission(course: Path, release, answers_ref: dict, case: dict) -> None:
    answers = {} if case.get("blank") else dict(answers_ref)
    for gid, text in case.get("answers", {}).items():
        if text is None:
            answers.pop(gid, None)
        else:
            answers[gid] = text
    if case.get("answer_prefix"):
        answers["accuracy"] = case["answer_prefix"] + answers["accuracy"]
    nb = solved(release, answers)
    if case.get("extra_cell"):
        index = nb.cells.index(cell_by_id(nb, "accuracy"))
        nb.cells.insert(index, nbformat.v4.new_code_cell(case["extra_cell"]))
    folder = submit(course, case["student"], "ps0", {"ps0": nb}, timestamp="2026-11-20 10:00:00.000000 UTC",
                    edit=case.get("edit"))
    if case.get("raw"):
        (folder / "ps0.ipynb").write_text(case["raw"])


def _dump(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return sorted(con.execute(sql).fetchall(), key=repr)


STRUCTURE = ["assignment", "notebook", "base_cell", "grade_cells", "solution_cells", "task_cells", "source_cell",
             "course"]
ZOE = ("select g.cell_id, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade from grade g "
       "join submitted_notebook sn on g.notebook_id = sn.id join submitted_assignment sa on sn.assignment_id = sa.id "
       "where sa.student_id = 'zoe'")


def _scores(db: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions("ps0")}


@pytest.fixture(scope="module")
def sandbox():
    return ensure_bubblewrap(install=True)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, sandbox):
    course = new_course(tmp_path_factory.mktemp("hostile") / "course", {"ps0": FIXTURE})
    generate(course, "ps0")
    from nbgrader.api import Gradebook

    # an earlier student with a manual grade and comment that grading must leave alone
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student("zoe", first_name="Zoe")
        gb.update_or_create_submission("ps0", "zoe")
        grade = gb.find_grade("test_accuracy", "ps0", "ps0", "zoe")
        grade.manual_score, grade.auto_score, grade.extra_credit = 1.5, 0.0, 0.5
        gb.find_comment("accuracy", "ps0", "ps0", "zoe").manual_comment = "good try"
        gb.db.commit()
    release = release_notebooks(course, "ps0")["ps0"]
    answers = solution_sources(course / "notebooks" / "ps0" / "ps0.ipynb")
    cases = [c for c in _cases(course) if sandbox.available or not c.get("sandbox")]
    for case in cases:
        _build_submission(course, release, answers, case)
    db = course / "gradebook.db"
    before = {t: _dump(db, f"select * from {t}") for t in STRUCTURE}
    before_zoe = _dump(db, ZOE)
    run = subprocess.run([*GRADE, "--course-dir", str(course), *LIMITS], capture_output=True, text=True, timeout=1400)
    print(run.stdout[-6000:], run.stderr[-3000:])
    with open(course / "grading_report.csv") as f:
        report = {row["student"]: row for row in csv.DictReader(f)}
    return dict(course=course, db=db, cases=cases, run=run, report=report, scores=_scores(db), before=before,
                before_zoe=before_zoe)


@pytest.fixture(scope="module")
def table(graded_class):
    lines = ["| kind | student | expected | got | status | notes |", "|---|---|---|---|---|---|"]
    for case in graded_class["cases"]:
        row = dict(graded_class["report"].get(case["student"], {}))
        forks = graded_class["course"] / "autograded" / case["student"] / "ps0" / "forks.txt"
        if forks.exists():
            row["notes"] = (row.get("notes") or "") + " started/stopped: " + forks.read_text()
        expected = case["expected"] if case["expected"] is not None else "listed as failed"
        lines.append(f"| {case['kind']} | {case['student']} | {expected} | {row.get('score') or '-'} | "
                     f"{row.get('status', '-')} | {row.get('notes', '')[:120].replace('|', '/')} |")
    text = "\n".join(lines)
    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "grading_hostile.md").write_text(text + "\n")
    print("\n" + text)
    return text


KINDS = [c["kind"] for c in _cases(Path("/nonexistent"))]


@pytest.mark.parametrize("kind", KINDS)
def test_each_submission_gets_its_expected_score(graded_class, table, sandbox, kind):
    case = next((c for c in graded_class["cases"] if c["kind"] == kind), None)
    if case is None:
        pytest.skip(f"SANDBOX UNAVAILABLE ({sandbox.reason}): the '{kind}' attack is only defeated inside bubblewrap")
    row = graded_class["report"][case["student"]]
    if case["expected"] is None:  # cannot be graded: listed as failed with the reason, exported as 0
        assert row["status"] == "failed" and "not graded" in row["notes"] and row["score"] == "", row
        assert case["student"] not in graded_class["scores"]
        return
    assert graded_class["scores"][case["student"]] == case["expected"], (kind, row)
    assert float(row["score"]) == case["expected"]
    if case.get("note"):
        assert row["status"] == "flagged" and case["note"] in row["notes"], row
    elif case["expected"] == 5:
        assert row["status"] == "graded", row


def test_the_class_finishes_and_nothing_vanishes(graded_class):
    run = graded_class["run"]
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]  # 1: a submission failed (the corrupt one)
    gradable = {c["student"] for c in graded_class["cases"] if c["expected"] is not None}
    assert gradable <= set(graded_class["scores"]), "every gradable submission must be in the gradebook"
    assert {s for s, r in graded_class["report"].items() if r["status"] in {"graded", "flagged"}} == gradable
    assert {s for s, r in graded_class["report"].items() if r["status"] == "failed"} == {"s18_corrupt"}
    assert graded_class["report"]["zoe"]["status"] == "missing"
    assert "s18_corrupt" in run.stdout and "failed" in run.stdout
    with open(graded_class["course"] / "grades.csv") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    # zoe: manual 1.5 + extra credit 0.5; the corrupt submission is listed (0) and explained in the report
    assert exported == {**graded_class["scores"], "zoe": 2.0, "s18_corrupt": 0.0}


def test_gradebook_structure_and_other_students_are_untouched(graded_class):
    db = graded_class["db"]
    for t in STRUCTURE:
        assert _dump(db, f"select * from {t}") == graded_class["before"][t], f"table {t} changed"
    assert _dump(db, ZOE) == graded_class["before_zoe"]
    assert _dump(db, "select manual_comment from comment where manual_comment is not null") == [("good try",)]
    with sqlite3.connect(db) as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
        assert con.execute("select count(*) from grade where manual_score = 100").fetchone() == (0,)


def test_sandbox_blocked_the_file_attacks(graded_class, sandbox):
    if not sandbox.available:
        pytest.skip(f"SANDBOX UNAVAILABLE: {sandbox.reason}")
    folder = graded_class["course"] / "autograded"
    assert json.loads((folder / "s14_cheat" / "ps0" / "cheat.txt").read_text()) == []
    outcomes = (folder / "s15_writer" / "ps0" / "attack.txt").read_text()
    assert str(graded_class["db"]) + ": updated" not in outcomes
    assert str(graded_class["db"]) + ": overwritten" not in outcomes


def test_feedback_shows_no_hidden_test(graded_class):
    import html

    source = nbformat.read(graded_class["course"] / "notebooks" / "ps0" / "ps0.ipynb", as_version=4)
    hidden: list[str] = []
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                hidden.append(line.strip())
    assert hidden
    pages = list((graded_class["course"] / "feedback").glob("*/ps0/ps0.html"))
    assert len(pages) == sum(c["expected"] is not None for c in graded_class["cases"])
    for page in pages:
        text = html.unescape(page.read_text())
        leaked = [line for line in hidden if line in text]
        assert not leaked, (page, leaked)


def test_rerun_is_idempotent_and_force_keeps_manual_grades(graded_class):
    from nbgrader.api import Gradebook

    course, db = graded_class["course"], graded_class["db"]
    everything = "select * from {}"
    tables = [r[0] for r in _dump(db, "select name from sqlite_master where type='table'")]
    before = {t: _dump(db, everything.format(t)) for t in tables}
    grades_csv = (course / "grades.csv").read_text()
    again = subprocess.run([*GRADE, "--course-dir", str(course), *LIMITS], capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 1, again.stdout[-3000:]  # the corrupt submission is tried again and fails again
    assert {t: _dump(db, everything.format(t)) for t in tables} == before
    assert (course / "grades.csv").read_text() == grades_csv
    with open(course / "grading_report.csv") as f:
        statuses = {row["student"]: row["status"] for row in csv.DictReader(f)}
    assert {statuses[c["student"]] for c in graded_class["cases"] if c["expected"] is not None} == {"skipped"}
    assert statuses["s18_corrupt"] == "failed"

    with Gradebook(f"sqlite:///{db}") as gb:  # a grader overrides one cell by hand, then the student is regraded
        gb.find_grade("test_count_positives", "ps0", "ps0", "s01_correct").manual_score = 0.5
        gb.db.commit()
    forced = subprocess.run([*GRADE, "--course-dir", str(course), *LIMITS, "--force", "--student", "s01_correct",
                             "--no-feedback"], capture_output=True, text=True, timeout=600)
    assert forced.returncode == 0, forced.stdout[-3000:]
    with Gradebook(f"sqlite:///{db}") as gb:
        grade = gb.find_grade("test_count_positives", "ps0", "ps0", "s01_correct")
        assert (grade.auto_score, grade.manual_score, grade.needs_manual_grade) == (1.0, 0.5, True)
        assert gb.find_submission("ps0", "s01_correct").score == 4.5
    assert _dump(db, ZOE) == graded_class["before_zoe"]


def test_warnings_cost_nothing_and_stay_visible(graded_class):
    """Both warning submissions keep full marks, and each warning shows as a note in the graded notebook and the
    feedback (not on stderr, which nbgrader would score as a failure)."""
    import html

    from grading.nonfatal import NOTE_HEADER

    course = graded_class["course"]
    expected = {"s19_warn_inside": ["accuracy: my own helper warns", "RuntimeWarning: invalid value"],
                "s20_warn_outside": ["top-level warning in the answer cell", "a hook warns before every cell"]}
    for student, texts in expected.items():
        assert graded_class["scores"][student] == 5, student
        nb = nbformat.read(course / "autograded" / student / "ps0" / "ps0.ipynb", as_version=4)
        test_cell = cell_by_id(nb, "test_accuracy")
        notes = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                        if o.get("name") == "stdout" and NOTE_HEADER in o.get("text", ""))
        assert all(t in notes for t in texts), (student, notes)
        assert not [o for o in test_cell.outputs if o.get("name") == "stderr"], test_cell.outputs
        page = html.unescape((course / "feedback" / student / "ps0" / "ps0.html").read_text())
        assert NOTE_HEADER in page and texts[0] in page, student


def test_fork_bomb_is_capped(graded_class, sandbox):
    """Whoever runs make grade (root included), a graded kernel cannot start hundreds of processes."""
    if not sandbox.available:
        pytest.skip(f"SANDBOX UNAVAILABLE: {sandbox.reason}")
    started, stopped = (graded_class["course"] / "autograded" / "s22_forks" / "ps0" / "forks.txt").read_text().split()
    print(f"fork bomb: {started} of 300 children started, then {stopped}")
    assert int(started) < 300 and stopped == "BlockingIOError", (started, stopped)
