"""Practice quizzes (an ipywidgets quiz over ``quizzes/*.yaml``), saved progress, and graded-quiz helpers.

>>> from course_lib.quiz import show_quiz, quiz_progress
>>> show_quiz("05_accuracy_paradox")      # doctest: +SKIP
>>> quiz_progress()                        # doctest: +SKIP

Modules: :mod:`.bank` (load and validate banks), :mod:`.widget` (the quiz widget),
:mod:`.progress` (the learner's progress file), :mod:`.graded` (nbgrader helpers).
"""

from .bank import Bank, BankNotFoundError, BankValidationError, Question, list_banks, load_bank
from .graded import (
    answer_key_for_instructors,
    check_answers,
    graded_quiz_layout,
    graded_quiz_markdown,
    print_graded_quiz,
    validate_answer_format,
)
from .progress import PATTERN_STRONG, QuizProgressWarning, quiz_progress, reset_progress
from .widget import QuizScore, QuizWidget, show_quiz

__all__ = [
    "PATTERN_STRONG",
    "Bank",
    "BankNotFoundError",
    "BankValidationError",
    "Question",
    "QuizProgressWarning",
    "QuizScore",
    "QuizWidget",
    "answer_key_for_instructors",
    "check_answers",
    "graded_quiz_layout",
    "graded_quiz_markdown",
    "list_banks",
    "load_bank",
    "print_graded_quiz",
    "quiz_progress",
    "reset_progress",
    "show_quiz",
    "validate_answer_format",
]
