"""Tests for course_lib.quiz: bank loading, the quiz widget (driven through its API), the hidden answer
key, and the graded-quiz helpers. The reference for "right" is always the bank YAML read with pyyaml."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import ipywidgets
import pytest
import yaml
from ipywidgets.embed import dependency_state

from course_lib.quiz import (
    Bank,
    BankNotFoundError,
    BankValidationError,
    Question,
    QuizWidget,
    answer_key_for_instructors,
    check_answers,
    graded_quiz_layout,
    graded_quiz_markdown,
    list_banks,
    load_bank,
    print_graded_quiz,
    show_quiz,
    validate_answer_format,
)
from course_lib.quiz.bank import REPO_QUIZZES_DIR

FIXTURES = Path(__file__).parent / "fixtures" / "quizzes"
DEMO = "demo_metrics"
LETTERS = "ABCDE"


@pytest.fixture()
def demo_env(tmp_path, monkeypatch):
    """Banks from tests/fixtures/quizzes, progress in a temp file."""
    monkeypatch.setenv("COURSE_QUIZZES_DIR", str(FIXTURES))
    monkeypatch.setenv("COURSE_GRADED_QUIZZES_DIR", str(FIXTURES / "graded"))
    progress = tmp_path / "progress.json"
    monkeypatch.setenv("COURSE_QUIZ_PROGRESS", str(progress))
    return progress


@pytest.fixture()
def raw_demo() -> dict:
    return yaml.safe_load((FIXTURES / f"{DEMO}.yaml").read_text(encoding="utf-8"))


def right_text(raw: dict, qid: str) -> str:
    q = next(q for q in raw["questions"] if q["id"] == qid)
    return q["options"][LETTERS.index(q["answer"])]


def wrong_texts(raw: dict, qid: str) -> list[str]:
    q = next(q for q in raw["questions"] if q["id"] == qid)
    return [o for i, o in enumerate(q["options"]) if LETTERS[i] != q["answer"]]


def write_bank(folder: Path, data: dict) -> Path:
    path = folder / f"{data['bank']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------
# bank loading


def test_load_bank_matches_yaml(demo_env, raw_demo):
    bank = load_bank(DEMO)
    assert isinstance(bank, Bank) and bank.name == DEMO and bank.title == raw_demo["title"]
    assert [q.id for q in bank.questions] == [q["id"] for q in raw_demo["questions"]]
    for q, raw in zip(bank.questions, raw_demo["questions"], strict=True):
        assert isinstance(q, Question)
        assert list(q.options) == raw["options"] and q.answer == raw["answer"]
        assert q.answer_text == right_text(raw_demo, raw["id"])
        assert list(q.steps) == raw["steps"]


def test_list_banks_and_env_dir_first(demo_env, tmp_path, monkeypatch, raw_demo):
    assert DEMO in list_banks()
    assert "demo_graded" in list_banks(graded=True) and "demo_graded" not in list_banks()
    # a bank of the same name in COURSE_QUIZZES_DIR wins over another folder
    other = tmp_path / "other"
    other.mkdir()
    data = copy.deepcopy(raw_demo)
    data["title"] = "Overridden title"
    write_bank(other, data)
    monkeypatch.setenv("COURSE_QUIZZES_DIR", str(other))
    assert load_bank(DEMO).title == "Overridden title"


def test_load_bank_by_path(raw_demo):
    assert load_bank(FIXTURES / f"{DEMO}.yaml").name == raw_demo["bank"]


def test_unknown_bank_lists_available_names(demo_env):
    with pytest.raises(BankNotFoundError, match="no practice quiz bank named 'nope'") as info:
        load_bank("nope")
    assert DEMO in str(info.value) and "COURSE_QUIZZES_DIR" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(TypeError):
        load_bank(3)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["questions"][2].__setitem__("answer", "F"),
            r"question 3 \(id 'd-accuracy'\), field 'answer'",
        ),
        (lambda d: d["questions"][0].pop("hint"), r"question 1 \(id 'd-precision'\).*'hint' is a required"),
        (lambda d: d["questions"][4].__setitem__("difficulty", "tricky"), r"question 5 .*field 'difficulty'"),
        (
            lambda d: d["questions"][1].__setitem__("answer", "D"),
            r"question 2 .*'D' but there are only 3 options",
        ),
        (lambda d: d["questions"][3].__setitem__("id", "d-precision"), r"question 4 .*id repeats question 1"),
        (lambda d: d["questions"][0]["options"].__setitem__(1, "0.80"), r"question 1 .*same text"),
        (lambda d: d.__setitem__("bank", "another_name"), r"field 'bank'.*file name stem"),
        (lambda d: d.__setitem__("questions", d["questions"][:9]), r"field 'questions'.*too short"),
    ],
)
def test_invalid_bank_names_question_and_field(tmp_path, raw_demo, mutate, expected):
    data = copy.deepcopy(raw_demo)
    mutate(data)
    path = tmp_path / f"{DEMO}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(BankValidationError, match=expected) as info:
        load_bank(path)
    assert str(path) in str(info.value)


def test_bad_yaml_is_reported(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("bank: broken\nquestions: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankValidationError, match="not valid YAML"):
        load_bank(path)


# ---------------------------------------------------------------------------------------------------------
# the widget, driven programmatically


def test_wrong_then_right_answer(demo_env, raw_demo):
    quiz = show_quiz(DEMO, seed=3)
    assert isinstance(quiz, QuizWidget) and isinstance(quiz, ipywidgets.VBox)
    qid = quiz.question_ids[0]
    quiz.select(wrong_texts(raw_demo, qid)[0])
    assert quiz.check() is False
    feedback = quiz.feedback_html
    assert "try again" in feedback.lower()
    assert "Worked steps" not in feedback and right_text(raw_demo, qid) not in feedback
    quiz.select(right_text(raw_demo, qid))
    assert quiz.check() is True
    feedback = quiz.feedback_html
    assert "Correct" in feedback and "Worked steps" in feedback
    raw_q = next(q for q in raw_demo["questions"] if q["id"] == qid)
    assert "Quick check" in feedback and "Common mistakes" in feedback
    assert raw_q["steps"][0].split()[0] in feedback
    assert quiz.score.first_try_correct == 0 and quiz.score.solved == 1 and quiz.score.answered == 1


def test_two_wrong_tries_reveal_the_solution(demo_env, raw_demo):
    quiz = show_quiz(DEMO, seed=0)
    qid = quiz.question_ids[0]
    wrong = wrong_texts(raw_demo, qid)
    quiz.select(wrong[0])
    assert not quiz.check()
    assert "Worked steps" not in quiz.feedback_html
    quiz.select(wrong[1])
    assert not quiz.check()
    assert "Worked steps" in quiz.feedback_html
    assert f"<b>Answer:</b> {right_text(raw_demo, qid)}" in quiz.feedback_html


def test_check_without_selection_asks_for_one(demo_env):
    quiz = show_quiz(DEMO)
    assert quiz.check() is False
    assert "Pick an option" in quiz.feedback_html
    assert quiz.score.answered == 0


def test_select_by_displayed_letter_and_label(demo_env, raw_demo):
    quiz = show_quiz(DEMO, seed=5)
    labels = quiz.options
    for k, label in enumerate(labels):
        assert label.startswith(f"{LETTERS[k]}. ")
    target = right_text(raw_demo, quiz.question_ids[0])
    shown_letter = next(lab[0] for lab in labels if lab[3:] == target)
    assert quiz.select(shown_letter.lower()) == f"{shown_letter}. {target}"
    assert quiz.check() is True
    with pytest.raises(ValueError, match="not an option of question 1"):
        quiz.select("no such option")
    with pytest.raises(TypeError):
        quiz.select(1)


def test_hint_shows_the_hint(demo_env, raw_demo):
    quiz = show_quiz(DEMO)
    raw_q = next(q for q in raw_demo["questions"] if q["id"] == quiz.question_ids[0])
    assert quiz.hint_html == ""
    assert quiz.hint() == raw_q["hint"]
    assert raw_q["hint"] in quiz.hint_html


def test_next_previous_and_buttons(demo_env, raw_demo):
    quiz = show_quiz(DEMO)
    assert quiz.current == 1
    assert quiz.previous() == 1  # stays on the first
    assert quiz.next() == 2 and quiz.current == 2
    raw_q = next(q for q in raw_demo["questions"] if q["id"] == quiz.question_ids[1])
    assert set(o[3:] for o in quiz.options) == set(raw_q["options"])
    for _ in range(20):
        quiz.next()
    assert quiz.current == len(quiz) == len(raw_demo["questions"])
    # the buttons have stable labels and do the same as the API
    buttons = {b.description: b for b in _walk(quiz) if isinstance(b, ipywidgets.Button)}
    assert {"Check", "Hint", "Next", "Previous"} <= set(buttons)
    assert buttons["Next"].disabled and not buttons["Previous"].disabled
    buttons["Previous"].click()
    assert quiz.current == len(quiz) - 1


def test_buttons_drive_the_current_question(demo_env, raw_demo):
    quiz = show_quiz(DEMO, seed=2)
    stage = [
        w for w in _walk(quiz) if isinstance(w, ipywidgets.Button) and w.description in ("Check", "Hint")
    ]
    assert len(stage) == 2  # mode 'one' shows a single question
    radio = next(w for w in _walk(quiz) if isinstance(w, ipywidgets.RadioButtons))
    target = right_text(raw_demo, quiz.question_ids[0])
    radio.index = [lab[3:] for lab in radio.options].index(target)
    next(b for b in stage if b.description == "Check").click()
    assert "Correct" in quiz.feedback_html
    next(b for b in stage if b.description == "Hint").click()
    assert quiz.hint_html


def _answer_all(quiz: QuizWidget, raw: dict, first_try_right: int) -> None:
    """Answer every question: right on the first try for the first `first_try_right`, else wrong then right."""
    for k, qid in enumerate(quiz.question_ids, start=1):
        if k > first_try_right:
            quiz.select(wrong_texts(raw, qid)[0], question=k)
            assert not quiz.check(question=k)
        quiz.select(right_text(raw, qid), question=k)
        assert quiz.check(question=k)


@pytest.mark.parametrize(
    ("right", "expected"), [(10, "pattern strong"), (8, "pattern strong"), (7, "keep practising")]
)
def test_score_and_verdict_after_all_questions(demo_env, raw_demo, right, expected):
    quiz = show_quiz(DEMO, mode="all")
    n = len(raw_demo["questions"])
    assert quiz.verdict is None
    _answer_all(quiz, raw_demo, right)
    assert quiz.score.first_try_correct == right and quiz.score.answered == n and quiz.score.solved == n
    assert quiz.score.fraction == pytest.approx(right / n)
    assert quiz.verdict == expected
    page = " ".join(w.value for w in _walk(quiz) if isinstance(w, ipywidgets.HTML))
    assert (
        f"Verdict: <span style='color:#{'2e7d32' if expected == 'pattern strong' else 'ef6c00'}'>{expected}"
        in page
    )
    assert "80%" in page  # the threshold is stated in the UI


def test_verdict_waits_for_the_last_question(demo_env, raw_demo):
    quiz = show_quiz(DEMO, mode="all")
    for k, qid in enumerate(quiz.question_ids[:-1], start=1):
        quiz.select(right_text(raw_demo, qid), question=k)
        quiz.check(question=k)
    assert quiz.score.first_try_correct == len(quiz) - 1
    assert quiz.verdict is None


def test_mode_all_shows_every_question(demo_env, raw_demo):
    quiz = show_quiz(DEMO, mode="all")
    checks = [w for w in _walk(quiz) if isinstance(w, ipywidgets.Button) and w.description == "Check"]
    radios = [w for w in _walk(quiz) if isinstance(w, ipywidgets.RadioButtons)]
    assert len(checks) == len(radios) == len(raw_demo["questions"])
    assert not any(isinstance(w, ipywidgets.Button) and w.description == "Next" for w in _walk(quiz))
    checks[3].click()  # a card's own button acts on that card
    assert "Pick an option" in quiz._items[3].feedback.value


def test_difficulty_filter_and_bad_arguments(demo_env, raw_demo):
    quiz = show_quiz(DEMO, difficulty="hard")
    hard = [q["id"] for q in raw_demo["questions"] if q["difficulty"] == "hard"]
    assert quiz.question_ids == hard
    assert show_quiz(DEMO, difficulty=["easy", "hard"]).question_ids == [
        q["id"] for q in raw_demo["questions"] if q["difficulty"] in ("easy", "hard")
    ]
    page = " ".join(w.value for w in _walk(quiz) if isinstance(w, ipywidgets.HTML))
    assert "quiz-badge quiz-hard" in page
    with pytest.raises(ValueError, match="difficulty must be"):
        show_quiz(DEMO, difficulty="tricky")
    with pytest.raises(ValueError, match="mode must be"):
        show_quiz(DEMO, mode="some")
    with pytest.raises(TypeError, match="seed"):
        show_quiz(DEMO, seed="1")


def test_question_markdown_rendered_with_code_as_pre(demo_env):
    quiz = show_quiz(DEMO, difficulty="medium")
    html_values = [w.value for w in _walk(quiz.children[3]) if isinstance(w, ipywidgets.HTML)]
    rendered = next(v for v in html_values if "build_model" in v)
    assert re.search(r"<pre><code[^>]*>model = build_model\(\)", rendered)
    assert "<code>model</code>" in rendered


def test_option_letters_in_steps_follow_the_shuffle(demo_env, raw_demo):
    # d-recall's step says "Option C" (file order); the learner must see the letter shown on screen
    quiz = show_quiz(DEMO, seed=11)
    k = quiz.question_ids.index("d-recall") + 1
    quiz.select(right_text(raw_demo, "d-recall"), question=k)
    quiz.check(question=k)
    quiz.goto(k)
    shown = next(lab[0] for lab in quiz.options if lab[3:] == right_text(raw_demo, "d-recall"))
    assert f"Option {shown} in the file order" in quiz.feedback_html


# ---------------------------------------------------------------------------------------------------------
# seeded shuffle


def _orders(quiz: QuizWidget) -> list[tuple[str, ...]]:
    orders = []
    for k in range(1, len(quiz) + 1):
        quiz.goto(k)
        orders.append(tuple(lab[3:] for lab in quiz.options))
    return orders


def test_shuffle_is_seeded_stable_and_a_permutation(demo_env, raw_demo):
    a, b, c = (_orders(show_quiz(DEMO, seed=s)) for s in (7, 7, 8))
    assert a == b
    assert a != c
    for order, raw_q in zip(a, raw_demo["questions"], strict=True):
        assert sorted(order) == sorted(raw_q["options"])
    assert any(list(o) != q["options"] for o, q in zip(a, raw_demo["questions"], strict=True))
    unshuffled = _orders(show_quiz(DEMO, shuffle=False))
    assert [list(o) for o in unshuffled] == [q["options"] for q in raw_demo["questions"]]


def test_shuffle_of_a_question_does_not_depend_on_the_filter(demo_env):
    full = dict(zip(show_quiz(DEMO, seed=4).question_ids, _orders(show_quiz(DEMO, seed=4)), strict=True))
    hard = show_quiz(DEMO, seed=4, difficulty="hard")
    assert dict(zip(hard.question_ids, _orders(hard), strict=True)) == {k: full[k] for k in hard.question_ids}


# ---------------------------------------------------------------------------------------------------------
# the answer key stays in Python


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _keys(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _keys(v)


def _normalised_state(quiz: QuizWidget) -> str:
    """Every widget's synced state, in tree order, with model ids replaced by their order of appearance."""
    states = [w.get_state() for w in _walk(quiz)]
    text = json.dumps(states, sort_keys=True, default=str)
    ids: dict[str, str] = {}
    return re.sub(r"IPY_MODEL_[0-9a-f]+", lambda m: ids.setdefault(m.group(0), f"M{len(ids)}"), text)


def test_widget_state_holds_no_answer_key(demo_env, raw_demo):
    quiz = show_quiz(DEMO, mode="all", seed=1)
    manager_state = dependency_state(quiz, drop_defaults=False)  # what an embed / the browser gets
    assert len(manager_state) >= 5 * len(quiz)
    keys = set(_keys(manager_state))
    assert not keys & {"answer", "key", "correct", "answer_index", "solution"}
    dumped = json.dumps(manager_state, default=str)
    for item in quiz._items:
        assert item.key_digest.hex() not in dumped
    for radio in (w for w in _walk(quiz) if isinstance(w, ipywidgets.RadioButtons)):
        state = radio.get_state()
        assert state["index"] is None and state["description"] == "" and state["tooltip"] is None
    # nothing is written before an answer: no feedback, no hint, no worked steps
    assert "Worked steps" not in dumped and "quiz-hint" not in dumped


def test_widget_state_does_not_depend_on_the_key(demo_env, raw_demo, tmp_path, monkeypatch):
    """Two banks that differ only in their answer letters give byte-identical widget states."""
    other = tmp_path / "banks"
    other.mkdir()
    data = copy.deepcopy(raw_demo)
    for q in data["questions"]:
        q["answer"] = LETTERS[(LETTERS.index(q["answer"]) + 1) % len(q["options"])]
    write_bank(other, data)
    original = _normalised_state(show_quiz(DEMO, seed=9))
    monkeypatch.setenv("COURSE_QUIZZES_DIR", str(other))
    rekeyed = show_quiz(DEMO, seed=9)
    assert load_bank(DEMO).questions[0].answer != raw_demo["questions"][0]["answer"]
    assert _normalised_state(rekeyed) == original


def test_widget_object_keeps_no_question_or_letter(demo_env):
    quiz = show_quiz(DEMO)
    for obj in [quiz, *quiz._items]:
        for name, value in vars(obj).items():
            assert not isinstance(value, (Bank, Question)), name
            assert name not in {"answer", "answers", "key"}, name
    assert not hasattr(quiz._items[0], "answer")


# ---------------------------------------------------------------------------------------------------------
# headless use


def test_headless_repr_is_short_text(demo_env):
    quiz = show_quiz(DEMO)
    bundle = quiz._repr_mimebundle_()
    assert bundle["text/plain"].startswith("<QuizWidget 'demo_metrics': 10 questions")
    assert len(bundle["text/plain"]) <= 110  # ipywidgets cuts text/plain after 110 characters
    assert "application/vnd.jupyter.widget-view+json" in bundle


@pytest.mark.slow
def test_notebook_executes_headless(demo_env, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"from course_lib.quiz import show_quiz\nshow_quiz({DEMO!r})")]
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    (output,) = nb.cells[0].outputs
    assert output["output_type"] == "execute_result"
    assert output["data"]["text/plain"].startswith("<QuizWidget 'demo_metrics'")
    assert "application/vnd.jupyter.widget-view+json" in output["data"]


# ---------------------------------------------------------------------------------------------------------
# real banks, when present


REAL_BANKS = sorted(p.stem for p in REPO_QUIZZES_DIR.glob("*.yaml"))


@pytest.mark.skipif(not REAL_BANKS, reason="no banks in quizzes/ yet")
def test_every_real_bank_builds_and_checks(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_QUIZZES_DIR", raising=False)
    for name in REAL_BANKS:
        raw = yaml.safe_load((REPO_QUIZZES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        quiz = show_quiz(name, mode="all", progress_path=tmp_path / "p.json")
        assert quiz.question_ids == [q["id"] for q in raw["questions"]]
        _answer_all(quiz, raw, first_try_right=len(raw["questions"]))
        assert quiz.verdict == "pattern strong", name


# ---------------------------------------------------------------------------------------------------------
# graded-quiz helpers


def test_graded_markdown_file_order_and_no_answers(demo_env):
    raw = yaml.safe_load((FIXTURES / "graded" / "demo_graded.yaml").read_text(encoding="utf-8"))
    md = graded_quiz_markdown("demo_graded", n=4)
    positions = [md.index(q["question"].strip()) for q in raw["questions"][:4]]
    assert positions == sorted(positions)
    assert raw["questions"][4]["question"].strip() not in md
    for k, q in enumerate(raw["questions"][:4], start=1):
        assert f"**q{k}**" in md
        for i, option in enumerate(q["options"]):  # every option, lettered in file order
            assert f"- **{LETTERS[i]}.** {option}\n" in md
        for secret in [q["hint"], q["quick_check"], *q["steps"], *q["common_mistakes"]]:
            assert secret not in md
    assert not re.search(r"answer\s*[:=]\s*[A-E]\b", md, flags=re.I)
    assert "demo_graded" not in list_banks()  # graded banks are not practice banks


def test_print_graded_quiz_prints_the_markdown(demo_env, capsys):
    print_graded_quiz("demo_graded", n=2)
    assert capsys.readouterr().out.strip() == graded_quiz_markdown("demo_graded", n=2).strip()


def test_graded_helpers_refuse_practice_banks_unless_asked(demo_env):
    with pytest.raises(BankNotFoundError, match="graded"):
        graded_quiz_markdown(DEMO)
    assert graded_quiz_markdown(DEMO, n=1, graded=False).startswith("### Graded quiz")
    with pytest.raises(ValueError, match="n must be between 1 and 10"):
        graded_quiz_markdown("demo_graded", n=11)


def test_answer_key_and_layout_match_the_yaml(demo_env):
    raw = yaml.safe_load((FIXTURES / "graded" / "demo_graded.yaml").read_text(encoding="utf-8"))
    key = answer_key_for_instructors("demo_graded", n=10)
    assert key == {f"q{k}": q["answer"] for k, q in enumerate(raw["questions"], start=1)}
    layout = graded_quiz_layout("demo_graded", n=10)
    assert layout == {f"q{k}": LETTERS[: len(q["options"])] for k, q in enumerate(raw["questions"], start=1)}


def test_check_answers_scores_against_the_key():
    key = {"q1": "B", "q2": "C", "q3": "A", "q4": "D"}
    assert check_answers(dict(key), key) == 1.0
    assert check_answers({"q1": "b ", "q2": "A", "q3": "A", "q4": "A", "q9": "E"}, key) == 0.5
    assert check_answers({"q1": "A", "q2": "A", "q3": "B", "q4": "A"}, key) == 0.0
    with pytest.raises(ValueError, match="no entry for q3, q4"):
        check_answers({"q1": "B", "q2": "C"}, key)
    with pytest.raises(ValueError, match="answer q2.*not a letter"):
        check_answers({"q1": "B", "q2": "7", "q3": "A", "q4": "D"}, key)
    with pytest.raises(ValueError, match="key is empty"):
        check_answers({"q1": "B"}, {})
    with pytest.raises(TypeError, match="answers must be a dict"):
        check_answers(["B", "C"], key)


def test_validate_answer_format(demo_env):
    layout = graded_quiz_layout("demo_graded", n=3)  # q2 (d-recall) has 3 options: A-C
    assert validate_answer_format({"q1": "d", "q2": " C", "q3": "A"}, layout) == {
        "q1": "D",
        "q2": "C",
        "q3": "A",
    }
    assert validate_answer_format({"q1": "B", "q2": "C", "q3": "A"}, "demo_graded", 3) == {
        "q1": "B",
        "q2": "C",
        "q3": "A",
    }
    with pytest.raises(ValueError, match=r"q2: 'D' is not an option; q2 has options A, B, C"):
        validate_answer_format({"q1": "A", "q2": "D", "q3": "A"}, layout)
    with pytest.raises(ValueError, match="missing q3"):
        validate_answer_format({"q1": "A", "q2": "B"}, layout)
    with pytest.raises(ValueError, match="unknown question.*q4"):
        validate_answer_format({"q1": "A", "q2": "B", "q3": "C", "q4": "A"}, layout)
    with pytest.raises(ValueError, match="q1 has no answer yet"):
        validate_answer_format({"q1": None, "q2": "B", "q3": "C"}, layout)
    with pytest.raises(ValueError, match="q1: 'AB' is not a letter"):
        validate_answer_format({"q1": "AB", "q2": "B", "q3": "C"}, layout)
    with pytest.raises(TypeError, match="answers must be a dict"):
        validate_answer_format("ABC", layout)
