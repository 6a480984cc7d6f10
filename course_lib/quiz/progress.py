"""Saved quiz progress: one small JSON file per learner.

Where the file is (first that applies): the ``progress_path`` argument, the environment variable
``COURSE_QUIZ_PROGRESS`` (the learner workspace sets it), ``<current folder>/.quiz_progress.json``.

Layout::

    {"version": 1,
     "banks": {"<bank>": {"<question id>": {"attempts": 3, "first_try_correct": false,
                                            "solved": true, "last_answered": "2026-11-02T10:15:00+00:00"}}}}

Writes are atomic (a temporary file in the same folder, then ``os.replace``). A file that cannot be
read as this layout is moved aside to ``<name>.bak`` (never deleted) and the learner starts fresh, with a
:class:`QuizProgressWarning` naming both files. A missing file is simply a first visit: no warning.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from .bank import BankNotFoundError, BankValidationError, list_banks, load_bank

__all__ = [
    "PATTERN_STRONG",
    "ProgressStore",
    "ProgressSummary",
    "QuizProgressWarning",
    "quiz_progress",
    "reset_progress",
    "resolve_progress_path",
    "verdict",
]

ENV_PROGRESS = "COURSE_QUIZ_PROGRESS"
DEFAULT_PROGRESS_FILE = ".quiz_progress.json"
FILE_VERSION = 1
#: share of a quiz's questions that must be right on the first try for the verdict "pattern strong"
PATTERN_STRONG = Fraction(4, 5)
STRONG, KEEP_PRACTISING = "pattern strong", "keep practising"


class QuizProgressWarning(UserWarning):
    """The progress file could not be read or written; the quiz goes on without it."""


def verdict(first_try_correct: int, answered: int, total: int) -> str | None:
    """``'pattern strong'`` when at least 80% of ``total`` were right on the first try, else
    ``'keep practising'``; ``None`` while some questions are still unanswered.

    Examples
    --------
    >>> verdict(8, 10, 10), verdict(7, 10, 10), verdict(5, 6, 10)
    ('pattern strong', 'keep practising', None)
    """
    if total <= 0 or answered < total:
        return None
    return STRONG if Fraction(first_try_correct, total) >= PATTERN_STRONG else KEEP_PRACTISING


def resolve_progress_path(progress_path: str | os.PathLike[str] | None = None) -> Path:
    """The progress file to use: the argument, else ``$COURSE_QUIZ_PROGRESS``, else ``./.quiz_progress.json``.

    Examples
    --------
    >>> resolve_progress_path("p.json").name
    'p.json'
    """
    if progress_path is not None:
        if not isinstance(progress_path, (str, os.PathLike)) or not str(progress_path):
            raise TypeError(f"progress_path must be a file path or None, not {progress_path!r}")
        return Path(progress_path).expanduser()
    env = os.environ.get(ENV_PROGRESS)
    if env:
        return Path(env).expanduser()
    return Path.cwd() / DEFAULT_PROGRESS_FILE


def _problem(data: Any) -> str | None:
    """What is wrong with a parsed progress file, or None if it has the expected layout."""
    if not isinstance(data, dict) or not isinstance(data.get("banks"), dict):
        return "it is not a {'version': ..., 'banks': {...}} object"
    if data.get("version") != FILE_VERSION:
        return f"unknown version {data.get('version')!r} (expected {FILE_VERSION})"
    for bank, questions in data["banks"].items():
        if not isinstance(questions, dict):
            return f"bank {bank!r} is not an object"
        for qid, rec in questions.items():
            ok = (
                isinstance(rec, dict)
                and type(rec.get("attempts")) is int
                and rec["attempts"] >= 0
                and isinstance(rec.get("first_try_correct"), bool)
                and isinstance(rec.get("solved"), bool)
                and isinstance(rec.get("last_answered"), str)
            )
            if not ok:
                return f"the record for {bank}/{qid} is malformed"
    return None


def _backup_name(path: Path) -> Path:
    bak = path.with_name(path.name + ".bak")
    n = 2
    while bak.exists():  # keep every older backup too
        bak = path.with_name(f"{path.name}.bak{n}")
        n += 1
    return bak


class ProgressStore:
    """Read and update one progress file. Every update re-reads the file first, so two open quizzes
    writing to the same file do not wipe each other's answers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = ProgressStore(pathlib.Path(tempfile.mkdtemp()) / "p.json")
    >>> store.record("demo", "q-1", correct=True)["first_try_correct"]
    True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ProgressStore({str(self.path)!r})"

    def load(self) -> dict[str, Any]:
        """The whole file as a dict; a fresh empty layout if it is missing or unreadable."""
        empty: dict[str, Any] = {"version": FILE_VERSION, "banks": {}}
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return empty
        except OSError as exc:
            warnings.warn(
                f"quiz progress file {self.path} cannot be read ({exc}); starting fresh for now.",
                QuizProgressWarning,
                stacklevel=3,
            )
            return empty
        try:
            data = json.loads(raw.decode("utf-8"))
            reason = _problem(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            reason = f"it is not valid JSON ({exc})"
        if reason is None:
            return data
        bak = _backup_name(self.path)
        try:
            os.replace(self.path, bak)
            kept = f"The old file was kept as {bak}."
        except OSError as exc:
            kept = f"The old file could not be moved aside ({exc}) and was left in place."
        warnings.warn(
            f"quiz progress file {self.path} could not be read: {reason}. Starting fresh. {kept}",
            QuizProgressWarning,
            stacklevel=3,
        )
        return empty

    def bank(self, name: str) -> dict[str, dict[str, Any]]:
        """Records of one bank: ``{question id: record}``."""
        return self.load()["banks"].get(name, {})

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def record(
        self, bank: str, question_id: str, *, correct: bool, when: datetime | None = None
    ) -> dict[str, Any]:
        """Add one checked answer and save; returns the question's updated record."""
        data = self.load()
        rec = data["banks"].setdefault(bank, {}).get(question_id)
        if rec is None:
            rec = {"attempts": 0, "first_try_correct": bool(correct), "solved": False, "last_answered": ""}
        rec["attempts"] += 1
        rec["solved"] = rec["solved"] or bool(correct)
        rec["last_answered"] = (when or datetime.now(UTC)).isoformat(timespec="seconds")
        data["banks"][bank][question_id] = rec
        self._save(data)
        return dict(rec)

    def reset(self, bank: str) -> int:
        """Forget one bank; returns how many question records were removed."""
        data = self.load()
        removed = data["banks"].pop(bank, {})
        if removed:
            self._save(data)
        return len(removed)


# ----------------------------------------------------------------------------------------------------------
# summaries


class ProgressSummary(dict):
    """``{bank name: {title, total, answered, solved, first_try_correct, first_try_score, verdict,
    last_answered}}`` with a readable table as its repr. ``path`` is the progress file it was read from."""

    path: Path

    def __repr__(self) -> str:
        lines = [f"Quiz progress ({self.path})"]
        if not self:
            return lines[0] + ": no banks found"
        width = max(len(name) for name in self) + 2
        lines.append(f"{'bank':<{width}}{'answered':>10}{'solved':>9}{'first try':>14}   verdict")
        for name, s in self.items():
            total = s["total"] if s["total"] is not None else "?"
            score = "" if s["first_try_score"] is None else f" {s['first_try_score']:.0%}"
            first = f"{s['first_try_correct']}/{total}{score}"
            shown_verdict = s["verdict"] or ("not started" if s["answered"] == 0 else "in progress")
            lines.append(
                f"{name:<{width}}{s['answered']:>7}/{total!s:<2}{s['solved']:>6}/{total!s:<2}{first:>14}   "
                f"{shown_verdict}"
            )
        lines.append(f"'{STRONG}' = at least {float(PATTERN_STRONG):.0%} of a bank right on the first try.")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(repr(self))


def _summarise(name: str, records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    title, total, ids = None, None, None
    try:
        bank = load_bank(name)
        title, total, ids = bank.title, len(bank), {q.id for q in bank.questions}
    except (BankNotFoundError, BankValidationError):
        pass  # the bank file is gone or broken: summarise what was recorded
    recs = [r for qid, r in records.items() if ids is None or qid in ids]
    answered = len(recs)
    solved = sum(r["solved"] for r in recs)
    first = sum(r["first_try_correct"] for r in recs)
    denominator = total if total else None
    return {
        "title": title,
        "total": total,
        "answered": answered,
        "solved": solved,
        "first_try_correct": first,
        "first_try_score": (first / denominator) if denominator else None,
        "verdict": verdict(first, answered, total) if total else None,
        "last_answered": max((r["last_answered"] for r in recs), default=None),
    }


def quiz_progress(
    name: str | None = None, *, progress_path: str | os.PathLike[str] | None = None
) -> ProgressSummary:
    """Summary of saved quiz progress, per bank.

    Parameters
    ----------
    name : str, optional
        One bank; by default every available bank plus any bank with saved answers.
    progress_path : path, optional
        The progress file (default: ``$COURSE_QUIZ_PROGRESS`` or ``./.quiz_progress.json``).

    Returns
    -------
    ProgressSummary
        A dict ``{bank: {"answered", "solved", "first_try_correct", "first_try_score", "verdict", ...}}``
        that prints as a table. ``first_try_score`` is a share of all the bank's questions.

    Examples
    --------
    >>> quiz_progress()            # doctest: +SKIP
    Quiz progress (/home/me/course/.quiz_progress.json)
    bank                  answered   solved     first try   verdict
    05_accuracy_paradox       12/12    12/12    10/12 83%   pattern strong
    """
    store = ProgressStore(resolve_progress_path(progress_path))
    recorded = store.load()["banks"]
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a bank name (str) or None, not {type(name).__name__}")
        available = list_banks()
        if name not in recorded and name not in available:
            raise ValueError(
                f"no quiz bank or saved progress named {name!r}; available banks: {', '.join(available) or '(none)'}"
            )
        names = [name]
    else:
        names = sorted(set(list_banks()) | set(recorded))
    summary = ProgressSummary((n, _summarise(n, recorded.get(n, {}))) for n in names)
    summary.path = store.path
    return summary


def reset_progress(name: str, *, progress_path: str | os.PathLike[str] | None = None) -> int:
    """Forget the saved answers of one bank (explicit: there is no 'reset everything').

    Returns how many question records were removed.

    Examples
    --------
    >>> reset_progress("05_accuracy_paradox")   # doctest: +SKIP
    12
    """
    if not isinstance(name, str) or not name:
        raise TypeError(
            "reset_progress needs the name of one bank, e.g. reset_progress('05_accuracy_paradox')"
        )
    store = ProgressStore(resolve_progress_path(progress_path))
    recorded = store.load()["banks"]
    if name not in recorded and name not in list_banks():
        raise ValueError(
            f"no saved progress for {name!r}; banks with saved progress: {', '.join(sorted(recorded)) or '(none)'}"
        )
    return store.reset(name)
