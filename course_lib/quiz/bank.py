"""Quiz banks: find ``quizzes/<name>.yaml``, check it against ``quizzes/schema.json``, load it as dataclasses.

Practice banks live in the repository's ``quizzes/`` folder, or in the folder named by the environment
variable ``COURSE_QUIZZES_DIR`` (the learner workspace sets it); that folder is searched first.
Instructor-only banks for graded quizzes (``graded=True``) live in ``grading/quizzes/`` or in
``COURSE_GRADED_QUIZZES_DIR``; they never ship to learners (see :mod:`course_lib.quiz.graded`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Bank",
    "BankNotFoundError",
    "BankValidationError",
    "Question",
    "bank_dirs",
    "list_banks",
    "load_bank",
]

ENV_QUIZZES_DIR = "COURSE_QUIZZES_DIR"
ENV_GRADED_QUIZZES_DIR = "COURSE_GRADED_QUIZZES_DIR"
_REPO = Path(__file__).resolve().parents[2]
REPO_QUIZZES_DIR = _REPO / "quizzes"
REPO_GRADED_QUIZZES_DIR = _REPO / "grading" / "quizzes"
SCHEMA_NAME = "schema.json"
LETTERS = "ABCDE"
DIFFICULTIES = ("easy", "medium", "hard")
_MAX_ERRORS_SHOWN = 8


class BankNotFoundError(ValueError):
    """No bank file with that name in any of the searched folders."""


class BankValidationError(ValueError):
    """A bank file exists but is not valid YAML or breaks the schema."""


@dataclass(frozen=True)
class Question:
    """One multiple-choice question of a bank (fields as in ``quizzes/schema.json``).

    ``answer`` is the letter of the right option in file order (``A`` = ``options[0]``).

    Examples
    --------
    >>> q = load_bank("05_accuracy_paradox").questions[0]   # doctest: +SKIP
    >>> q.options[q.answer_index] == q.answer_text           # doctest: +SKIP
    True
    """

    id: str
    difficulty: str
    question: str = field(repr=False)
    options: tuple[str, ...] = field(repr=False)
    answer: str = field(repr=False)
    hint: str = field(repr=False)
    steps: tuple[str, ...] = field(repr=False)
    quick_check: str = field(repr=False)
    common_mistakes: tuple[str, ...] = field(repr=False)
    seed_ref: str | None = field(default=None, repr=False)
    snippet: str | None = field(default=None, repr=False)
    snippet_output: str | None = field(default=None, repr=False)

    @property
    def answer_index(self) -> int:
        """Position of the right option in ``options`` (file order)."""
        return LETTERS.index(self.answer)

    @property
    def answer_text(self) -> str:
        """Text of the right option."""
        return self.options[self.answer_index]


@dataclass(frozen=True)
class Bank:
    """A validated quiz bank.

    Examples
    --------
    >>> bank = load_bank("05_accuracy_paradox")   # doctest: +SKIP
    >>> bank.name, len(bank)                       # doctest: +SKIP
    ('05_accuracy_paradox', 12)
    """

    name: str
    title: str
    lesson: str
    questions: tuple[Question, ...] = field(repr=False)
    path: Path | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.questions)

    def __repr__(self) -> str:
        counts = ", ".join(f"{sum(q.difficulty == d for q in self.questions)} {d}" for d in DIFFICULTIES)
        return f"Bank({self.name!r}, {len(self)} questions: {counts})"

    def question(self, question_id: str) -> Question:
        """The question with this id (``ValueError`` naming the known ids if absent)."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise ValueError(
            f"bank {self.name!r} has no question with id {question_id!r}; "
            f"its ids are: {', '.join(q.id for q in self.questions)}"
        )


# ----------------------------------------------------------------------------------------------------------
# finding bank files


def bank_dirs(*, graded: bool = False) -> list[Path]:
    """Folders searched for bank files, first match wins.

    Practice banks: ``$COURSE_QUIZZES_DIR`` (if set), then the repository's ``quizzes/``.
    Graded banks: ``$COURSE_GRADED_QUIZZES_DIR`` (if set), then ``grading/quizzes/``.

    Examples
    --------
    >>> bank_dirs()[-1].name
    'quizzes'
    """
    env, repo = (
        (ENV_GRADED_QUIZZES_DIR, REPO_GRADED_QUIZZES_DIR) if graded else (ENV_QUIZZES_DIR, REPO_QUIZZES_DIR)
    )
    dirs: list[Path] = []
    if os.environ.get(env):
        dirs.append(Path(os.environ[env]).expanduser())
    dirs.append(repo)
    return dirs


def list_banks(*, graded: bool = False) -> list[str]:
    """Names of all bank files found (``<name>.yaml``), sorted.

    Examples
    --------
    >>> isinstance(list_banks(), list)
    True
    """
    names: set[str] = set()
    for folder in bank_dirs(graded=graded):
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.yaml") if p.is_file())
    return sorted(names)


def _find_bank_file(name: str, graded: bool) -> Path:
    for folder in bank_dirs(graded=graded):
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    kind = "graded (instructor-only)" if graded else "practice"
    available = list_banks(graded=graded)
    searched = ", ".join(str(d) for d in bank_dirs(graded=graded))
    env = ENV_GRADED_QUIZZES_DIR if graded else ENV_QUIZZES_DIR
    raise BankNotFoundError(
        f"no {kind} quiz bank named {name!r}. Available: {', '.join(available) or '(none)'}. "
        f"Searched {searched}; a bank is a file <name>.yaml there, or set {env} to another folder."
    )


def _is_path_like(name: str | os.PathLike[str]) -> bool:
    if isinstance(name, os.PathLike):
        return True
    return name.endswith((".yaml", ".yml")) or "/" in name or os.sep in name


# ----------------------------------------------------------------------------------------------------------
# validation


def _schema_path(bank_file: Path) -> Path:
    candidates = [REPO_QUIZZES_DIR / SCHEMA_NAME, bank_file.parent / SCHEMA_NAME]
    if os.environ.get(ENV_QUIZZES_DIR):
        candidates.append(Path(os.environ[ENV_QUIZZES_DIR]).expanduser() / SCHEMA_NAME)
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(
        f"quiz bank schema {SCHEMA_NAME} not found (looked at {', '.join(map(str, candidates))}); "
        "it ships as quizzes/schema.json in the course repository"
    )


@lru_cache(maxsize=4)
def _validator(schema_file: str, mtime: float) -> Any:
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - jsonschema is in requirements.txt
        raise ImportError("checking quiz banks needs jsonschema: pip install 'jsonschema>=4.20'") from exc
    schema = json.loads(Path(schema_file).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _where(data: Any, path: list[Any]) -> str:
    """Human-readable place of a schema error: 'question 3 (id 'x'), field 'answer''."""
    if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
        i = path[1]
        qid = None
        try:
            qid = data["questions"][i].get("id")
        except (AttributeError, IndexError, KeyError, TypeError):
            pass
        place = f"question {i + 1}" + (f" (id {qid!r})" if qid else "")
        rest = path[2:]
        if rest:
            place += f", field {rest[0]!r}" + "".join(f"[{p}]" for p in rest[1:])
        return place
    if path:
        return f"field {path[0]!r}" + "".join(f"[{p}]" for p in path[1:])
    return "top level"


@lru_cache(maxsize=4)
def _fast_validator(schema_file: str, mtime: float) -> Any:
    """A compiled validator (fastjsonschema, which nbformat already needs): about 50 ms to build, where importing
    jsonschema takes 2-3 s (its format checkers compile grammars). The schema uses draft-07 keywords only."""
    import fastjsonschema

    schema = json.loads(Path(schema_file).read_text(encoding="utf-8"))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def _schema_errors(data: Any, schema_file: Path) -> list[str]:
    """Every schema error, each with its place; the fast validator first, jsonschema only to list errors."""
    import fastjsonschema

    key = (str(schema_file), schema_file.stat().st_mtime)
    try:
        _fast_validator(*key)(data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    validator = _validator(*key)
    return [f"{_where(data, list(err.absolute_path))}: {err.message}"
            for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])]


def _check(data: Any, bank_file: Path) -> None:
    problems = _schema_errors(data, _schema_path(bank_file))
    if not problems:  # the schema holds; now what it cannot say
        if data["bank"] != bank_file.stem:
            problems.append(
                f"field 'bank': {data['bank']!r} must equal the file name stem {bank_file.stem!r}"
            )
        seen: dict[str, int] = {}
        for i, q in enumerate(data["questions"]):
            where = _where(data, ["questions", i])
            if q["id"] in seen:
                problems.append(f"{where}: id repeats question {seen[q['id']] + 1}; ids must be unique")
            seen.setdefault(q["id"], i)
            if LETTERS.index(q["answer"]) >= len(q["options"]):
                problems.append(
                    f"{where}, field 'answer': {q['answer']!r} but there are only {len(q['options'])} options "
                    f"({LETTERS[: len(q['options'])]})"
                )
            stripped = [o.strip() for o in q["options"]]
            if len(set(stripped)) != len(stripped):
                problems.append(f"{where}, field 'options': two options have the same text")
    if problems:
        shown = problems[:_MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        raise BankValidationError(
            f"quiz bank {bank_file} is invalid ({len(problems)} problem{'s' * (len(problems) > 1)}):\n  - "
            + "\n  - ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
            + f"\nFix the file so it follows {SCHEMA_NAME}."
        )


def _build(data: dict[str, Any], bank_file: Path) -> Bank:
    questions = tuple(
        Question(
            id=q["id"],
            difficulty=q["difficulty"],
            question=q["question"],
            options=tuple(q["options"]),
            answer=q["answer"],
            hint=q["hint"],
            steps=tuple(q["steps"]),
            quick_check=q["quick_check"],
            common_mistakes=tuple(q["common_mistakes"]),
            seed_ref=q.get("seed_ref"),
            snippet=q.get("snippet"),
            snippet_output=q.get("snippet_output"),
        )
        for q in data["questions"]
    )
    return Bank(
        name=data["bank"], title=data["title"], lesson=data["lesson"], questions=questions, path=bank_file
    )


def load_bank(name: str | os.PathLike[str], *, graded: bool = False) -> Bank:
    """Load and validate a quiz bank.

    Parameters
    ----------
    name : str or path
        A bank name (``quizzes/<name>.yaml``) or the path of a ``.yaml`` file.
    graded : bool, default False
        Look among the instructor-only graded banks (``grading/quizzes/``) instead of the practice banks.

    Returns
    -------
    Bank

    Raises
    ------
    BankNotFoundError
        No such bank; the message lists the available names.
    BankValidationError
        Bad YAML or a schema violation; the message names the question and the field.

    Examples
    --------
    >>> bank = load_bank("05_accuracy_paradox")      # doctest: +SKIP
    >>> bank.questions[0].difficulty                  # doctest: +SKIP
    'easy'
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(
            f"name must be a bank name such as '05_accuracy_paradox' or a path, not {type(name).__name__}"
        )
    if _is_path_like(name):
        bank_file = Path(name).expanduser()
        if not bank_file.is_file():
            raise BankNotFoundError(f"quiz bank file {bank_file} does not exist")
    else:
        if not name:
            raise ValueError(f"name must be a bank name; available: {', '.join(list_banks(graded=graded))}")
        bank_file = _find_bank_file(name, graded)
    try:
        data = yaml.safe_load(bank_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BankValidationError(f"quiz bank {bank_file} is not valid YAML: {exc}") from exc
    _check(data, bank_file)
    return _build(data, bank_file)
