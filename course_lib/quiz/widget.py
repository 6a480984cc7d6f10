"""The practice-quiz widget for JupyterLab: ``show_quiz(name)``.

The answer key never reaches the browser. When the widget is built it keeps, for every question, only a
salted SHA-256 digest of the right option's text (salt: random bytes made per widget, kept in Python); the
bank with its answer letters is dropped. No widget trait holds a key letter or flags an option. The worked
solution is written into the feedback only after the learner answered (right, or wrong twice).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import random
import re
import secrets
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ipywidgets as widgets

from .bank import DIFFICULTIES, LETTERS, Bank, Question, load_bank
from .progress import (
    PATTERN_STRONG,
    STRONG,
    ProgressStore,
    QuizProgressWarning,
    resolve_progress_path,
    verdict,
)

__all__ = ["QuizScore", "QuizWidget", "markdown_to_html", "show_quiz"]

MODES = ("one", "all")
#: wrong tries after which the worked solution is shown
REVEAL_AFTER_WRONG = 2
_BADGE_COLOURS = {"easy": "#2e7d32", "medium": "#ef6c00", "hard": "#c62828"}
_OPTION_REF = re.compile(r"\b(Options?)\s+([A-E])\b")


# ----------------------------------------------------------------------------------------------------------
# Markdown


@lru_cache(maxsize=1)
def _markdown_renderer() -> Any:
    try:
        import mistune
    except ImportError:  # pragma: no cover - mistune comes with nbconvert / jupyterlab
        return None
    return mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])


def markdown_to_html(text: str) -> str:
    """Render bank Markdown as HTML; raw HTML in the bank is escaped, ``` fences become ``<pre>``.

    Examples
    --------
    >>> markdown_to_html("Use `freeze`")
    '<p>Use <code>freeze</code></p>'
    """
    render = _markdown_renderer()
    if render is not None:
        return str(render(text)).strip()
    parts = re.split(r"```[^\n]*\n(.*?)```", text, flags=re.S)  # fallback: fences and paragraphs only
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre><code>{html.escape(part)}</code></pre>")
        elif part.strip():
            out.extend(f"<p>{html.escape(p.strip())}</p>" for p in part.split("\n\n") if p.strip())
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------------------
# score


@dataclass(frozen=True)
class QuizScore:
    """Score of one sitting: questions right on the first try, answered, solved, out of ``total``.

    Examples
    --------
    >>> str(QuizScore(first_try_correct=3, answered=4, solved=4, total=10))
    '3/10 right on the first try (30%), 4 answered, 4 solved'
    """

    first_try_correct: int
    answered: int
    solved: int
    total: int

    @property
    def fraction(self) -> float:
        """Share of all questions right on the first try."""
        return self.first_try_correct / self.total if self.total else 0.0

    def __str__(self) -> str:
        return (
            f"{self.first_try_correct}/{self.total} right on the first try ({self.fraction:.0%}), "
            f"{self.answered} answered, {self.solved} solved"
        )


# ----------------------------------------------------------------------------------------------------------
# one question as the widget holds it: no answer letter, only a digest


@dataclass(eq=False)
class _Item:
    number: int
    qid: str
    difficulty: str
    question_html: str
    texts: tuple[str, ...]  # option texts in displayed order
    letter_map: dict[str, str]  # file letter -> displayed letter (a permutation, not the key)
    key_digest: bytes = field(repr=False)
    hint: str = field(repr=False)
    steps: tuple[str, ...] = field(repr=False)
    quick_check: str = field(repr=False)
    common_mistakes: tuple[str, ...] = field(repr=False)
    solved_before: bool = False
    attempts: int = 0
    wrong: int = 0
    first_try_correct: bool | None = None
    solved: bool = False
    # widgets
    header: widgets.HTML = field(init=False, repr=False)
    radio: widgets.RadioButtons = field(init=False, repr=False)
    check_button: widgets.Button = field(init=False, repr=False)
    hint_button: widgets.Button = field(init=False, repr=False)
    hint_box: widgets.HTML = field(init=False, repr=False)
    feedback: widgets.HTML = field(init=False, repr=False)
    card: widgets.VBox = field(init=False, repr=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f"{LETTERS[i]}. {t}" for i, t in enumerate(self.texts))

    @property
    def revealed(self) -> bool:
        return self.solved or self.wrong >= REVEAL_AFTER_WRONG

    def relabel(self, text: str) -> str:
        """Rewrite 'Option B' (file order) to the letter the learner sees."""
        return _OPTION_REF.sub(lambda m: f"{m.group(1)} {self.letter_map[m.group(2)]}", text)


def _digest(salt: bytes, bank: str, qid: str, option: str) -> bytes:
    return hashlib.sha256(b"\x00".join([salt, bank.encode(), qid.encode(), option.strip().encode()])).digest()


def _difficulty_filter(difficulty: str | Iterable[str] | None) -> tuple[str, ...]:
    if difficulty is None:
        return DIFFICULTIES
    chosen = (difficulty,) if isinstance(difficulty, str) else tuple(difficulty)
    bad = [d for d in chosen if d not in DIFFICULTIES]
    if bad or not chosen:
        raise ValueError(
            f"difficulty must be None, one of {DIFFICULTIES} or a list of them; got {difficulty!r}"
        )
    return chosen


def _badge(difficulty: str) -> str:
    colour = _BADGE_COLOURS.get(difficulty, "#555")
    return (
        f'<span class="quiz-badge quiz-{difficulty}" style="background:{colour};color:white;'
        f'border-radius:0.6em;padding:0 0.6em;font-size:85%">{difficulty}</span>'
    )


class QuizWidget(widgets.VBox):
    """A practice quiz: multiple-choice questions with Check, Hint and worked solutions.

    Build it with :func:`show_quiz`. Besides the buttons, it has a small API for scripts and tests:
    :meth:`select`, :meth:`check`, :meth:`hint`, :meth:`next`, :meth:`previous`, :meth:`goto`,
    and the properties :attr:`score`, :attr:`verdict`, :attr:`feedback_html`, :attr:`hint_html`.

    The verdict, once every question was checked at least once, is ``'pattern strong'`` when at least 80%
    of the questions were right on the first try, else ``'keep practising'``.

    Examples
    --------
    >>> quiz = QuizWidget(load_bank("05_accuracy_paradox"), seed=1)   # doctest: +SKIP
    >>> quiz.select("B"); quiz.check()                                 # doctest: +SKIP
    False
    """

    def __init__(
        self,
        bank: Bank,
        *,
        mode: str = "one",
        shuffle: bool = True,
        seed: int = 0,
        difficulty: str | Iterable[str] | None = None,
        progress_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if not isinstance(bank, Bank):
            raise TypeError(f"bank must be a Bank from load_bank(), not {type(bank).__name__}")
        if mode not in MODES:
            raise ValueError(
                f"mode must be 'one' (one question at a time) or 'all' (all at once), not {mode!r}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {seed!r}")
        levels = _difficulty_filter(difficulty)
        chosen = [q for q in bank.questions if q.difficulty in levels]
        if not chosen:
            raise ValueError(f"bank {bank.name!r} has no {'/'.join(levels)} questions; try difficulty=None")

        self.bank_name = bank.name
        self.title = bank.title
        self.mode = mode
        self.seed = seed
        self.shuffle = shuffle
        self._salt = secrets.token_bytes(16)
        self._index = 0
        self._store = ProgressStore(resolve_progress_path(progress_path))
        saved = self._store.bank(bank.name)
        self._save_failed = False
        self._items = [self._make_item(n, q, saved) for n, q in enumerate(chosen, start=1)]
        # from here on the widget holds no Question or Bank object, so no answer letter

        self._title = widgets.HTML(self._title_html())
        self._score_html = widgets.HTML()
        self._verdict_html = widgets.HTML()
        self._nav = widgets.HTML()
        self._prev_button = widgets.Button(description="Previous", tooltip="previous question")
        self._next_button = widgets.Button(description="Next", tooltip="next question")
        self._prev_button.on_click(lambda _b: self.previous())
        self._next_button.on_click(lambda _b: self.next())
        for item in self._items:
            self._build_card(item)
        if mode == "one":
            self._stage = widgets.VBox([self._items[0].card])
            nav_row = widgets.HBox([self._prev_button, self._next_button])
            children = [self._title, self._score_html, self._nav, self._stage, nav_row, self._verdict_html]
        else:
            self._stage = widgets.VBox([it.card for it in self._items])
            children = [self._title, self._score_html, self._stage, self._verdict_html]
        super().__init__(children=children)
        self.add_class("course-quiz")
        self._refresh()

    # -- construction ------------------------------------------------------------------------------------

    def _make_item(self, number: int, q: Question, saved: dict[str, dict[str, Any]]) -> _Item:
        order = list(range(len(q.options)))
        if self.shuffle:
            random.Random(f"{self.seed}:{self.bank_name}:{q.id}").shuffle(order)
        texts = tuple(q.options[i] for i in order)
        letter_map = {LETTERS[orig]: LETTERS[shown] for shown, orig in enumerate(order)}
        return _Item(
            number=number,
            qid=q.id,
            difficulty=q.difficulty,
            question_html=markdown_to_html(q.question),
            texts=texts,
            letter_map=letter_map,
            key_digest=_digest(self._salt, self.bank_name, q.id, q.options[q.answer_index]),
            hint=q.hint,
            steps=q.steps,
            quick_check=q.quick_check,
            common_mistakes=q.common_mistakes,
            solved_before=bool(saved.get(q.id, {}).get("solved", False)),
        )

    def _build_card(self, item: _Item) -> None:
        item.header = widgets.HTML()
        item.radio = widgets.RadioButtons(
            options=item.labels, value=None, layout=widgets.Layout(width="auto"), description=""
        )
        item.check_button = widgets.Button(
            description="Check", button_style="primary", tooltip="check your answer"
        )
        item.hint_button = widgets.Button(description="Hint", tooltip="show a hint")
        item.hint_box = widgets.HTML()
        item.feedback = widgets.HTML()
        item.check_button.on_click(lambda _b, it=item: self._check_item(it))
        item.hint_button.on_click(lambda _b, it=item: self._hint_item(it))
        item.card = widgets.VBox(
            [
                item.header,
                widgets.HTML(item.question_html),
                item.radio,
                widgets.HBox([item.check_button, item.hint_button]),
                item.hint_box,
                item.feedback,
            ]
        )
        item.card.add_class("quiz-question")

    # -- rendering ----------------------------------------------------------------------------------------

    def _title_html(self) -> str:
        n = len(self._items)
        need = -(-PATTERN_STRONG.numerator * n // PATTERN_STRONG.denominator)  # ceil(0.8 n)
        layout = "one question at a time" if self.mode == "one" else "all questions below"
        return (
            f"<h3 style='margin-bottom:0.2em'>{html.escape(self.title)}</h3>"
            f"<div>{n} questions, {layout}. Options are shuffled. "
            f"Verdict <b>{STRONG}</b> when at least {float(PATTERN_STRONG):.0%} are right on the first try "
            f"({need} of {n}); otherwise <b>keep practising</b>.</div>"
            f"<div style='color:#666;font-size:85%'>Progress is saved to {html.escape(str(self._store.path))}</div>"
        )

    def _item_header(self, item: _Item) -> str:
        tick = ""
        if item.solved:
            tick = " <span class='quiz-tick' style='color:#2e7d32'>&#10003; solved</span>"
        elif item.solved_before:
            tick = " <span class='quiz-tick' style='color:#2e7d32'>&#10003; solved before</span>"
        return f"<b>Question {item.number} of {len(self._items)}</b> {_badge(item.difficulty)}{tick}"

    def _nav_html(self) -> str:
        cells = []
        for i, item in enumerate(self._items):
            mark = "&#10003;" if (item.solved or item.solved_before) else ""
            text = f"{item.number}{mark}"
            if i == self._index:
                text = f"<b style='text-decoration:underline'>[{text}]</b>"
            cells.append(text)
        return "<div class='quiz-nav'>Questions: " + " &middot; ".join(cells) + "</div>"

    def _refresh(self) -> None:
        for item in self._items:
            item.header.value = self._item_header(item)
        self._nav.value = self._nav_html()
        self._prev_button.disabled = self._index == 0
        self._next_button.disabled = self._index == len(self._items) - 1
        s = self.score
        self._score_html.value = f"<div class='quiz-score'><b>Score:</b> {html.escape(str(s))}</div>"
        v = self.verdict
        if v is None:
            self._verdict_html.value = (
                f"<div class='quiz-verdict'>Verdict after all {s.total} questions are checked "
                f"({s.total - s.answered} to go).</div>"
            )
        else:
            colour = "#2e7d32" if v == STRONG else "#ef6c00"
            self._verdict_html.value = (
                f"<div class='quiz-verdict' style='font-size:120%'><b>Verdict: "
                f"<span style='color:{colour}'>{v}</span></b> ({s.first_try_correct} of {s.total} = "
                f"{s.fraction:.0%} right on the first try; {STRONG} needs {float(PATTERN_STRONG):.0%}).</div>"
            )

    def _solution_html(self, item: _Item) -> str:
        right = next((t for t in item.texts if self._is_right(item, t)), "")
        steps = "".join(f"<li>{markdown_to_html(item.relabel(s))}</li>" for s in item.steps)
        mistakes = "".join(f"<li>{markdown_to_html(item.relabel(m))}</li>" for m in item.common_mistakes)
        return (
            "<div class='quiz-solution'>"
            f"<div><b>Answer:</b> {html.escape(right)}</div>"
            f"<div><b>Worked steps</b><ol>{steps}</ol></div>"
            f"<div><b>Quick check:</b> {markdown_to_html(item.relabel(item.quick_check))}</div>"
            f"<div><b>Common mistakes</b><ul>{mistakes}</ul></div>"
            "</div>"
        )

    # -- logic --------------------------------------------------------------------------------------------

    def _is_right(self, item: _Item, option_text: str) -> bool:
        return hmac.compare_digest(
            _digest(self._salt, self.bank_name, item.qid, option_text), item.key_digest
        )

    def _check_item(self, item: _Item) -> bool:
        if item.radio.index is None:
            item.feedback.value = "<div class='quiz-feedback'>Pick an option first, then press Check.</div>"
            return False
        correct = self._is_right(item, item.texts[item.radio.index])
        if not item.solved:  # after a solve, checking again changes nothing
            item.attempts += 1
            if item.attempts == 1:
                item.first_try_correct = correct
            item.solved = correct
            item.wrong += not correct
            self._save(item, correct)
        if correct:
            msg = "<b style='color:#2e7d32'>&#10004; Correct!</b>"
        elif item.revealed:
            msg = "<b style='color:#c62828'>&#10008; Not quite, try again.</b> Here is the worked solution:"
        else:
            left = REVEAL_AFTER_WRONG - item.wrong
            msg = (
                "<b style='color:#c62828'>&#10008; Not quite, try again.</b> Press Hint if you are stuck "
                f"(the worked solution appears after {left} more wrong {'try' if left == 1 else 'tries'})."
            )
        body = self._solution_html(item) if item.revealed else ""
        if self._save_failed:
            body += "<div style='color:#666'>(Progress could not be saved; see the warning.)</div>"
        item.feedback.value = f"<div class='quiz-feedback'>{msg}{body}</div>"
        self._refresh()
        return correct

    def _save(self, item: _Item, correct: bool) -> None:
        try:
            self._store.record(self.bank_name, item.qid, correct=correct)
        except OSError as exc:
            if not self._save_failed:
                warnings.warn(
                    f"quiz progress could not be saved to {self._store.path}: {exc}",
                    QuizProgressWarning,
                    stacklevel=2,
                )
            self._save_failed = True

    def _hint_item(self, item: _Item) -> str:
        item.hint_box.value = (
            f"<div class='quiz-hint'><b>Hint:</b> {markdown_to_html(item.relabel(item.hint))}</div>"
        )
        return item.relabel(item.hint)

    def _item(self, question: int | None) -> _Item:
        if question is None:
            return self._items[self._index]
        if (
            isinstance(question, bool)
            or not isinstance(question, int)
            or not 1 <= question <= len(self._items)
        ):
            raise ValueError(f"question must be a number from 1 to {len(self._items)}, not {question!r}")
        return self._items[question - 1]

    # -- public API ---------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<QuizWidget {self.bank_name!r}: {len(self._items)} questions, mode={self.mode!r}; run in JupyterLab>"

    def __len__(self) -> int:
        return len(self._items)

    @property
    def current(self) -> int:
        """Number (1-based) of the current question: the one shown in mode 'one', the one the API acts on."""
        return self._index + 1

    @property
    def options(self) -> tuple[str, ...]:
        """Option labels of the current question as displayed, e.g. ``('A. ...', 'B. ...')``."""
        return self._items[self._index].labels

    @property
    def question_ids(self) -> list[str]:
        """Question ids in quiz order."""
        return [it.qid for it in self._items]

    def select(self, choice: str, *, question: int | None = None) -> str:
        """Select an option of the current question (or of ``question``, 1-based).

        ``choice`` is the option's text, its full label (``'B. text'``) or the letter as displayed (``'B'``).
        Returns the selected label.
        """
        item = self._item(question)
        if not isinstance(choice, str):
            raise TypeError(
                f"choice must be an option's text or its displayed letter, not {type(choice).__name__}"
            )
        wanted = choice.strip()
        labels = item.labels
        index = next((i for i, t in enumerate(item.texts) if t.strip() == wanted), None)
        if index is None:
            index = next((i for i, lab in enumerate(labels) if lab == wanted), None)
        if index is None and len(wanted) == 1 and wanted.upper() in LETTERS[: len(labels)]:
            index = LETTERS.index(wanted.upper())
        if index is None:
            raise ValueError(
                f"{choice!r} is not an option of question {item.number}; pick the text or letter of one of: "
                + "; ".join(labels)
            )
        item.radio.index = index
        return labels[index]

    def check(self, *, question: int | None = None) -> bool:
        """Check the selected option (what the Check button does); True when it is right."""
        return self._check_item(self._item(question))

    def hint(self, *, question: int | None = None) -> str:
        """Show the hint (what the Hint button does) and return its text."""
        return self._hint_item(self._item(question))

    def goto(self, question: int) -> int:
        """Make ``question`` (1-based) the current one; returns it."""
        self._item(question)
        self._index = question - 1
        if self.mode == "one":
            self._stage.children = (self._items[self._index].card,)
        self._refresh()
        return self.current

    def next(self) -> int:
        """Go to the next question (stays on the last one); returns the current question number."""
        return self.goto(min(self._index + 1, len(self._items) - 1) + 1)

    def previous(self) -> int:
        """Go to the previous question (stays on the first one); returns the current question number."""
        return self.goto(max(self._index - 1, 0) + 1)

    @property
    def feedback_html(self) -> str:
        """The feedback shown under the current question (empty before Check)."""
        return self._items[self._index].feedback.value

    @property
    def hint_html(self) -> str:
        """The hint shown under the current question (empty before Hint)."""
        return self._items[self._index].hint_box.value

    @property
    def solved(self) -> dict[str, bool]:
        """``{question id: solved in this sitting or before}`` (the ticks in the navigator)."""
        return {it.qid: it.solved or it.solved_before for it in self._items}

    @property
    def score(self) -> QuizScore:
        """Score of this sitting (saved answers from earlier sittings show as ticks, not as score)."""
        return QuizScore(
            first_try_correct=sum(bool(it.first_try_correct) for it in self._items),
            answered=sum(it.attempts > 0 for it in self._items),
            solved=sum(it.solved for it in self._items),
            total=len(self._items),
        )

    @property
    def verdict(self) -> str | None:
        """``'pattern strong'`` (>= 80% right on the first try) or ``'keep practising'``; ``None`` until every
        question was checked once."""
        s = self.score
        return verdict(s.first_try_correct, s.answered, s.total)


def show_quiz(
    name: str,
    *,
    mode: str = "one",
    shuffle: bool = True,
    seed: int = 0,
    difficulty: str | Iterable[str] | None = None,
    progress_path: str | os.PathLike[str] | None = None,
) -> QuizWidget:
    """Show a practice quiz in JupyterLab (make it the last line of the cell).

    Parameters
    ----------
    name : str
        Bank name, e.g. ``'05_accuracy_paradox'`` (see :func:`list_banks`).
    mode : {'one', 'all'}
        One question at a time with Previous/Next, or all questions at once.
    shuffle : bool
        Shuffle each question's options; the order depends only on ``seed``, the bank and the question.
    seed : int
        Another seed gives another option order.
    difficulty : {'easy', 'medium', 'hard'} or list of them, optional
        Keep only these questions.
    progress_path : path, optional
        Progress file (default ``$COURSE_QUIZ_PROGRESS`` or ``./.quiz_progress.json``).

    Returns
    -------
    QuizWidget
        The verdict, after every question was checked once, is ``'pattern strong'`` when at least 80% were
        right on the first try, else ``'keep practising'``. After a right answer, or two wrong ones, the
        worked steps, a quick check and common mistakes are shown.

    Examples
    --------
    >>> show_quiz("05_accuracy_paradox", difficulty="easy")   # doctest: +SKIP
    """
    return QuizWidget(
        load_bank(name),
        mode=mode,
        shuffle=shuffle,
        seed=seed,
        difficulty=difficulty,
        progress_path=progress_path,
    )
