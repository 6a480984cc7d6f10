"""Tests for the saved quiz progress (course_lib.quiz.progress) and its use by the quiz widget."""

from __future__ import annotations

import json
import os
from pathlib import Path

import ipywidgets
import pytest
import yaml

from course_lib.quiz import QuizProgressWarning, quiz_progress, reset_progress, show_quiz
from course_lib.quiz.progress import ProgressStore, resolve_progress_path, verdict

FIXTURES = Path(__file__).parent / "fixtures" / "quizzes"
DEMO = "demo_metrics"
LETTERS = "ABCDE"
RAW = yaml.safe_load((FIXTURES / f"{DEMO}.yaml").read_text(encoding="utf-8"))


def right(qid: str) -> str:
    q = next(q for q in RAW["questions"] if q["id"] == qid)
    return q["options"][LETTERS.index(q["answer"])]


def wrong(qid: str) -> str:
    q = next(q for q in RAW["questions"] if q["id"] == qid)
    return next(o for i, o in enumerate(q["options"]) if LETTERS[i] != q["answer"])


@pytest.fixture()
def progress(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("COURSE_QUIZZES_DIR", str(FIXTURES))
    monkeypatch.delenv("COURSE_QUIZ_PROGRESS", raising=False)
    return tmp_path / "learner" / "progress.json"


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


# ---------------------------------------------------------------------------------------------------------
# where the file lives


def test_progress_path_argument_env_then_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_QUIZ_PROGRESS", raising=False)
    assert resolve_progress_path() == tmp_path / ".quiz_progress.json"
    monkeypatch.setenv("COURSE_QUIZ_PROGRESS", str(tmp_path / "env.json"))
    assert resolve_progress_path() == tmp_path / "env.json"
    assert resolve_progress_path(tmp_path / "arg.json") == tmp_path / "arg.json"
    with pytest.raises(TypeError, match="progress_path"):
        resolve_progress_path(3)


def test_widget_writes_to_cwd_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_QUIZZES_DIR", str(FIXTURES))
    monkeypatch.delenv("COURSE_QUIZ_PROGRESS", raising=False)
    monkeypatch.chdir(tmp_path)
    quiz = show_quiz(DEMO)
    quiz.select(right(quiz.question_ids[0]))
    quiz.check()
    data = json.loads((tmp_path / ".quiz_progress.json").read_text())
    assert data["banks"][DEMO][quiz.question_ids[0]]["solved"] is True


# ---------------------------------------------------------------------------------------------------------
# what is recorded


def test_records_attempts_first_try_and_solved(progress):
    quiz = show_quiz(DEMO, progress_path=progress, mode="all")
    ids = quiz.question_ids
    quiz.select(right(ids[0]), question=1)
    quiz.check(question=1)
    quiz.select(wrong(ids[1]), question=2)
    quiz.check(question=2)
    quiz.select(right(ids[1]), question=2)
    quiz.check(question=2)
    quiz.select(wrong(ids[2]), question=3)
    quiz.check(question=3)
    recs = json.loads(progress.read_text())["banks"][DEMO]
    assert set(recs) == set(ids[:3])
    fields = ("attempts", "first_try_correct", "solved")
    got = {qid: tuple(recs[qid][f] for f in fields) for qid in ids[:3]}
    assert got == {ids[0]: (1, True, True), ids[1]: (2, False, True), ids[2]: (1, False, False)}
    for rec in recs.values():
        assert rec["last_answered"].endswith("+00:00")  # ISO time, UTC


def test_checking_a_solved_question_again_adds_nothing(progress):
    quiz = show_quiz(DEMO, progress_path=progress)
    qid = quiz.question_ids[0]
    quiz.select(right(qid))
    quiz.check()
    quiz.check()
    assert json.loads(progress.read_text())["banks"][DEMO][qid]["attempts"] == 1


def test_first_try_is_kept_from_the_first_sitting(progress):
    store = ProgressStore(progress)
    store.record(DEMO, "d-f1", correct=False)
    rec = store.record(DEMO, "d-f1", correct=True)
    assert rec == {**rec, "attempts": 2, "first_try_correct": False, "solved": True}
    rec = store.record(DEMO, "d-f1", correct=False)
    assert rec["solved"] is True and rec["attempts"] == 3  # a later wrong try does not un-solve


# ---------------------------------------------------------------------------------------------------------
# reopening


def test_progress_survives_a_new_widget_and_shows_ticks(progress):
    first = show_quiz(DEMO, progress_path=progress, seed=1)
    solved_id = first.question_ids[1]
    first.goto(2)
    first.select(right(solved_id))
    first.check()
    del first

    again = show_quiz(DEMO, progress_path=progress, seed=2)
    assert again.solved == {qid: qid == solved_id for qid in again.question_ids}
    nav = next(w.value for w in _walk(again) if isinstance(w, ipywidgets.HTML) and "quiz-nav" in w.value)
    assert "2&#10003;" in nav and "1&#10003;" not in nav and "3&#10003;" not in nav
    again.goto(2)
    header = again._items[1].header.value
    assert "solved before" in header
    assert again.score.answered == 0  # the score is per sitting; earlier answers show as ticks


# ---------------------------------------------------------------------------------------------------------
# broken files and atomic writes


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2, 3]",
        json.dumps({"version": 1, "banks": {DEMO: {"d-f1": {"attempts": "many"}}}}),
        json.dumps({"version": 99, "banks": {}}),
        "\udcff",
    ],
    ids=["bad-json", "a-list", "bad-record", "unknown-version", "not-utf8"],
)
def test_corrupt_file_warns_starts_fresh_and_keeps_a_backup(progress, content):
    progress.parent.mkdir(parents=True)
    raw = content.encode("utf-8", "surrogateescape")
    progress.write_bytes(raw)
    with pytest.warns(QuizProgressWarning, match="could not be read") as record:
        quiz = show_quiz(DEMO, progress_path=progress)
    message = str(record[0].message)
    backup = progress.with_name(progress.name + ".bak")
    assert str(progress) in message and str(backup) in message
    assert backup.read_bytes() == raw  # nothing lost
    assert not any(quiz.solved.values())
    quiz.select(right(quiz.question_ids[0]))
    quiz.check()
    assert json.loads(progress.read_text())["banks"][DEMO][quiz.question_ids[0]]["solved"] is True


def test_second_corruption_keeps_the_first_backup(progress):
    progress.parent.mkdir(parents=True)
    progress.write_text("first broken")
    with pytest.warns(QuizProgressWarning):
        ProgressStore(progress).load()
    progress.write_text("second broken")
    with pytest.warns(QuizProgressWarning):
        ProgressStore(progress).load()
    assert progress.with_name(progress.name + ".bak").read_text() == "first broken"
    assert progress.with_name(progress.name + ".bak2").read_text() == "second broken"


def test_missing_file_is_a_first_visit_without_warning(progress, recwarn):
    quiz = show_quiz(DEMO, progress_path=progress)
    assert not [w for w in recwarn if issubclass(w.category, QuizProgressWarning)]
    assert not progress.exists()  # nothing is written until an answer is checked
    quiz.select(right(quiz.question_ids[0]))
    quiz.check()
    assert progress.exists()


def test_atomic_write_leaves_no_temp_files(progress):
    store = ProgressStore(progress)
    for qid in [q["id"] for q in RAW["questions"]]:
        store.record(DEMO, qid, correct=True)
    assert sorted(p.name for p in progress.parent.iterdir()) == [progress.name]
    assert len(json.loads(progress.read_text())["banks"][DEMO]) == len(RAW["questions"])


def test_failed_write_keeps_the_old_file_and_cleans_up(progress, monkeypatch):
    store = ProgressStore(progress)
    store.record(DEMO, "d-f1", correct=True)
    before = progress.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.record(DEMO, "d-recall", correct=True)
    assert progress.read_bytes() == before
    assert sorted(p.name for p in progress.parent.iterdir()) == [progress.name]


def test_widget_keeps_working_when_progress_cannot_be_saved(progress, monkeypatch):
    quiz = show_quiz(DEMO, progress_path=progress)

    def broken_replace(src, dst):
        raise OSError("read-only file system")

    monkeypatch.setattr(os, "replace", broken_replace)
    quiz.select(right(quiz.question_ids[0]))
    with pytest.warns(QuizProgressWarning, match="could not be saved"):
        assert quiz.check() is True
    assert "could not be saved" in quiz.feedback_html


def test_two_open_quizzes_do_not_overwrite_each_other(progress):
    a = show_quiz(DEMO, progress_path=progress)
    b = show_quiz(DEMO, progress_path=progress)
    a.select(right(a.question_ids[0]))
    a.check()
    b.goto(2)
    b.select(right(b.question_ids[1]))
    b.check()
    recs = json.loads(progress.read_text())["banks"][DEMO]
    assert set(recs) == {a.question_ids[0], b.question_ids[1]}


# ---------------------------------------------------------------------------------------------------------
# summary and reset


def test_verdict_rule():
    assert verdict(8, 10, 10) == "pattern strong"
    assert verdict(7, 10, 10) == "keep practising"
    assert verdict(4, 5, 5) == "pattern strong"  # exactly 80%
    assert verdict(79, 100, 100) == "keep practising"
    assert verdict(3, 4, 4) == "keep practising"  # 75%
    assert verdict(9, 9, 10) is None  # not finished
    assert verdict(0, 0, 0) is None


def test_quiz_progress_summary(progress):
    store = ProgressStore(progress)
    ids = [q["id"] for q in RAW["questions"]]
    for qid in ids[:8]:
        store.record(DEMO, qid, correct=True)
    for qid in ids[8:]:
        store.record(DEMO, qid, correct=False)
    store.record(DEMO, ids[8], correct=True)
    store.record(DEMO, "gone-question", correct=True)  # no longer in the bank: not counted
    summary = quiz_progress(DEMO, progress_path=progress)
    s = summary[DEMO]
    assert (s["answered"], s["solved"], s["first_try_correct"], s["total"]) == (10, 9, 8, 10)
    assert s["first_try_score"] == pytest.approx(0.8)
    assert s["verdict"] == "pattern strong"
    text = repr(summary)
    assert str(progress) in text and DEMO in text and "pattern strong" in text and "8/10 80%" in text


def test_quiz_progress_lists_all_banks_and_unknown_name(progress):
    summary = quiz_progress(progress_path=progress)
    assert DEMO in summary and summary[DEMO]["answered"] == 0 and summary[DEMO]["verdict"] is None
    assert "not started" in repr(summary)
    with pytest.raises(ValueError, match="no quiz bank or saved progress named 'nope'.*demo_metrics"):
        quiz_progress("nope", progress_path=progress)


def test_quiz_progress_reads_the_env_file(progress, monkeypatch):
    ProgressStore(progress).record(DEMO, "d-f1", correct=True)
    monkeypatch.setenv("COURSE_QUIZ_PROGRESS", str(progress))
    assert quiz_progress(DEMO)[DEMO]["solved"] == 1


def test_reset_progress_is_explicit(progress):
    store = ProgressStore(progress)
    store.record(DEMO, "d-f1", correct=True)
    store.record("other_bank", "x", correct=True)
    with pytest.raises(TypeError, match="name of one bank"):
        reset_progress(None, progress_path=progress)
    with pytest.raises(ValueError, match="no saved progress for 'nope'"):
        reset_progress("nope", progress_path=progress)
    assert reset_progress(DEMO, progress_path=progress) == 1
    assert quiz_progress(DEMO, progress_path=progress)[DEMO]["answered"] == 0
    assert "other_bank" in json.loads(progress.read_text())["banks"]
    assert reset_progress(DEMO, progress_path=progress) == 0
