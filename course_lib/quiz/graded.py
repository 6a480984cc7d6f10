"""Graded quizzes for nbgrader lessons: fixed-order questions, answers recorded as letters, checked by a
hidden test.

Why the graded questions come from instructor-only banks
--------------------------------------------------------
Practice banks (``quizzes/*.yaml``, including the mastery bank) ship to learners: the widget needs them,
and their answer keys are readable by anyone who opens the file. A grade built on them could be looked up.
So the helpers here read, by default (``graded=True``), *graded banks*: files with the same schema kept in
``grading/quizzes/`` (or ``$COURSE_GRADED_QUIZZES_DIR``), which stay on the instructor's side and are never
copied into the learner workspace or the nbgrader release. The lesson author, once, at authoring time:

1. pastes ``graded_quiz_markdown(name, n)`` into a Markdown cell of the source notebook (questions and
   lettered options only);
2. puts ``answers = {...}`` in a solution cell and a visible test cell with
   ``validate_answer_format(answers, {...layout...})``, the layout pasted from ``graded_quiz_layout(name, n)``
   (option letters per question; no answers), so the learner side needs no bank file;
3. pastes ``answer_key_for_instructors(name, n)`` into a test cell between ``### BEGIN HIDDEN TESTS`` and
   ``### END HIDDEN TESTS``, with e.g. ``assert check_answers(answers, key) >= 0.8``.

nbgrader strips hidden tests from the release and restores them at autograde, so the key exists only in
the source notebook and the graded bank, both instructor material. ``graded=False`` uses a practice bank
instead (then the key is public: fine for a self-check, not for a grade).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .bank import LETTERS, Bank, Question, load_bank

__all__ = [
    "answer_key_for_instructors",
    "check_answers",
    "graded_quiz_layout",
    "graded_quiz_markdown",
    "print_graded_quiz",
    "validate_answer_format",
]


def _first_questions(
    name: str | os.PathLike[str] | Bank, n: int, graded: bool
) -> tuple[Bank, list[Question]]:
    bank = name if isinstance(name, Bank) else load_bank(name, graded=graded)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int (how many questions), not {n!r}")
    if not 1 <= n <= len(bank):
        raise ValueError(
            f"n must be between 1 and {len(bank)} (the questions in bank {bank.name!r}), not {n}"
        )
    return bank, list(bank.questions[:n])


def graded_quiz_markdown(name: str | os.PathLike[str] | Bank, n: int = 10, *, graded: bool = True) -> str:
    """The first ``n`` questions of a bank as Markdown, in file order, options lettered A, B, ...

    No answers, hints or worked steps. Questions are numbered ``q1 .. qn``, the keys of the ``answers`` dict.

    Examples
    --------
    >>> md = graded_quiz_markdown("mastery_graded", n=10)   # doctest: +SKIP
    >>> md.splitlines()[0]                                   # doctest: +SKIP
    '### Graded quiz: Mastery (10 questions)'
    """
    bank, questions = _first_questions(name, n, graded)
    lines = [
        f"### Graded quiz: {bank.title} ({len(questions)} questions)",
        "",
        "Record one letter per question in the code cell below, for example "
        '`answers = {"q1": "B", "q2": "D", ...}`. Each question has exactly one right option.',
    ]
    for k, q in enumerate(questions, start=1):
        lines += ["", f"**q{k}** ({q.difficulty})", "", q.question.strip(), ""]
        lines += [f"- **{LETTERS[i]}.** {opt}" for i, opt in enumerate(q.options)]
    return "\n".join(lines) + "\n"


def print_graded_quiz(name: str | os.PathLike[str] | Bank, n: int = 10, *, graded: bool = True) -> None:
    """Print :func:`graded_quiz_markdown` (to copy into a lesson's Markdown cell).

    Examples
    --------
    >>> print_graded_quiz("mastery_graded", n=10)   # doctest: +SKIP
    """
    print(graded_quiz_markdown(name, n, graded=graded))


def graded_quiz_layout(
    name: str | os.PathLike[str] | Bank, n: int = 10, *, graded: bool = True
) -> dict[str, str]:
    """Allowed letters per question, ``{"q1": "ABCD", "q2": "ABC", ...}``: what
    :func:`validate_answer_format` needs, with nothing about the answers.

    Examples
    --------
    >>> graded_quiz_layout("mastery_graded", n=2)   # doctest: +SKIP
    {'q1': 'ABCD', 'q2': 'ABCDE'}
    """
    _bank, questions = _first_questions(name, n, graded)
    return {f"q{k}": LETTERS[: len(q.options)] for k, q in enumerate(questions, start=1)}


def _letter(value: object, where: str) -> str:
    if value is None or (type(value) is str and not str.strip(value)):
        raise ValueError(f"{where} has no answer yet ({value!r}); write one letter, e.g. 'B'")
    if type(value) is not str:  # exactly str: a subclass could lie in strip(), upper() or __eq__
        raise ValueError(f"{where} must be a plain str holding one letter, e.g. 'B', not a "
                         f"{type(value).__name__}")
    letter = str.upper(str.strip(value))
    if len(letter) != 1 or letter not in LETTERS:
        raise ValueError(f"{where}: {value!r} is not a letter A-E; write the letter of one option, e.g. 'B'")
    return letter


def validate_answer_format(
    answers: Mapping[str, str],
    layout: Mapping[str, str] | str | os.PathLike[str] | Bank,
    n: int | None = None,
    *,
    graded: bool = True,
) -> dict[str, str]:
    """Check that ``answers`` has one valid letter for each question ``q1 .. qn``; return them normalised.

    Parameters
    ----------
    answers : dict
        ``{"q1": "B", "q2": "d", ...}``; letters may be lower case or padded with spaces.
    layout : dict or bank name
        ``graded_quiz_layout(...)`` output (``{"q1": "ABCD", ...}``), or a bank name / path / Bank whose first
        ``n`` questions give the layout.
    n : int, optional
        Number of questions when ``layout`` is a bank (default 10); must match the layout if given with one.
    graded : bool
        With a bank name: look among the graded (instructor-only) banks.

    Raises
    ------
    TypeError
        ``answers`` is not a dict.
    ValueError
        A question is missing, unknown, unanswered, or its letter is not one of its options.

    Examples
    --------
    >>> validate_answer_format({"q1": "b", "q2": "A"}, {"q1": "ABC", "q2": "ABCD"})
    {'q1': 'B', 'q2': 'A'}
    """
    if isinstance(layout, Mapping):
        allowed = {str(k): str(v) for k, v in layout.items()}
        if n is not None and n != len(allowed):
            raise ValueError(f"n={n} but the layout has {len(allowed)} questions; leave n out")
    else:
        allowed = graded_quiz_layout(layout, 10 if n is None else n, graded=graded)
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must be a dict like {{'q1': 'B', 'q2': 'D'}}, not {type(answers).__name__}")
    problems = []
    missing = [q for q in allowed if q not in answers]
    if missing:
        problems.append(f"missing {', '.join(missing)} (add them, e.g. '{missing[0]}': 'A')")
    extra = [str(q) for q in answers if q not in allowed]
    if extra:
        problems.append(f"unknown question(s) {', '.join(extra)} (the questions are {', '.join(allowed)})")
    normalised: dict[str, str] = {}
    for q, letters in allowed.items():
        if q not in answers:
            continue
        try:
            letter = _letter(answers[q], q)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if letter not in letters:
            problems.append(f"{q}: {letter!r} is not an option; {q} has options {', '.join(letters)}")
        normalised[q] = letter
    if problems:
        raise ValueError("answers need fixing: " + "; ".join(problems))
    return normalised


def check_answers(answers: Mapping[str, str], key: Mapping[str, str]) -> float:
    """Share of the questions in ``key`` that ``answers`` got right (0.0 .. 1.0); used in hidden tests.

    Letters compare case-insensitively. Questions in ``answers`` but not in ``key`` are ignored.

    Raises
    ------
    TypeError
        ``answers`` or ``key`` is not a dict.
    ValueError
        ``key`` is empty or holds a non-letter; ``answers`` lacks a question of ``key`` or holds a non-letter.

    Examples
    --------
    >>> check_answers({"q1": "B", "q2": "c"}, {"q1": "B", "q2": "D"})
    0.5
    """
    for label, value in (("answers", answers), ("key", key)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{label} must be a dict like {{'q1': 'B'}}, not {type(value).__name__}")
    if not key:
        raise ValueError("key is empty; it must map each graded question to its letter, e.g. {'q1': 'B'}")
    missing = [q for q in key if q not in answers]
    if missing:
        raise ValueError(f"answers has no entry for {', '.join(map(str, missing))}; add one letter for each")
    right = 0
    for q, letter in key.items():
        right += _letter(answers[q], f"answer {q}") == _letter(letter, f"key {q}")
    return right / len(key)


def answer_key_for_instructors(
    name: str | os.PathLike[str] | Bank, n: int = 10, *, graded: bool = True
) -> dict[str, str]:
    """Instructor side: the key ``{"q1": "B", ...}`` of the first ``n`` questions, read from the bank YAML.

    Paste its output into the lesson's hidden test cell; never call it from a learner-visible cell.
    With ``graded=True`` it reads only instructor-only banks (``grading/quizzes/``), absent on the
    learner side.

    Examples
    --------
    >>> answer_key_for_instructors("mastery_graded", n=2)   # doctest: +SKIP
    {'q1': 'C', 'q2': 'A'}
    """
    _bank, questions = _first_questions(name, n, graded)
    return {f"q{k}": q.answer for k, q in enumerate(questions, start=1)}
