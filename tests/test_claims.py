"""Every number a lesson or its quiz quotes is checked against what the lesson's code computes.

How it works
------------
Each lesson declares its quoted results in ``tests/claims/<lesson>.yaml`` (format: ``tests/claims/README.md``)::

    claims:
      - id: seed-accuracy              # unique in the file
        where: cell-21                 # a cell id of notebooks/<lesson>/<lesson>.ipynb, or quiz:<bank>/<question id>
        text: "0.85"                   # exactly as written there (may carry words around ONE number: "recall 0.80")
        value: "accuracy_score(y, p)"  # evaluated in the lesson's kernel after its full Run All
        tol: 0.01                      # optional; default half a unit of the last digit shown
    not_results:                       # numbers that look like results but are not (settings, rules, definitions)
      - {text: "0.5", why: "the default threshold, a setting"}

(A plain top-level list is read as ``claims`` with no ``not_results``.)

* Fast, static tests here (nothing executes): the files are well formed, every ``where`` exists, every ``text``
  occurs verbatim there, the number parser follows its rules, and COVERAGE: every decimal (``0.94``) or
  percentage (``94 %``) in a lesson's markdown cells and in the quiz banks it shows is either a claim or a
  ``not_results`` entry with a reason.
* The values are compared by ``tests/test_notebooks.py::test_source_notebook_runs_and_passes_its_tests``: after
  Run All it runs one extra cell (``claims_cell_source``) in the SAME kernel, which evaluates every ``value``
  and prints the results as JSON; ``check_values`` compares them with the quoted numbers. No lesson runs twice.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_DIR = ROOT / "tests" / "claims"
QUIZ_DIR = ROOT / "quizzes"
LESSONS = sorted(p.name for p in (ROOT / "notebooks").iterdir() if (p / f"{p.name}.ipynb").exists())

CLAIM_KEYS = {"id", "where", "text", "value", "tol"}
CLAIM_REQUIRED = {"id", "where", "text", "value"}
NOT_RESULT_KEYS = {"text", "why", "where"}
TOP_KEYS = {"claims", "not_results"}
# The quiz fields a learner reads (snippets are run and checked by tests/test_quiz_banks.py).
QUIZ_TEXT_FIELDS = ("question", "options", "hint", "steps", "quick_check", "common_mistakes")
FLOAT_SLACK = 1e-9
MARKER = "@@COURSE-CLAIMS@@"

_SPACE = "[ \u00a0\u202f\u2009]"
# One quoted number: optional sign, digits (thousands may be grouped with commas), optional decimals, optional %.
NUMBER = re.compile(rf"(?<![\w.,])(?P<sign>[-\u2212])?(?P<int>\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.(?P<dec>\d+))?"
                    rf"(?P<pct>{_SPACE}?%)?(?![\w]|\.\d|,\d{{3}})")
# What COVERAGE treats as a measured-looking result: a decimal (0.94, 12.5) or a percentage (94 %, 0.5%).
RESULT_LIKE = re.compile(rf"(?<![\w.])(?:\d+\.\d+(?:{_SPACE}?%)?|\d+{_SPACE}?%)(?![\w]|\.\d)")


class ClaimsError(ValueError):
    """A claims file, or a claim's text, is not usable; the message says what to fix."""


# ---------------------------------------------------------------------------------------------------- parsing
def parse_quoted(text: str) -> tuple[float, float]:
    """The number a claim's text quotes and its default tolerance (half a unit of the last digit shown).

    Commas are dropped, a trailing ``%`` divides by 100, "about " may come first, and words may surround the
    one number (``"recall 0.80"``). More than one number, or none, is an error.

    >>> parse_quoted("about 94 %")
    (0.94, 0.005)
    >>> parse_quoted("1,234")
    (1234.0, 0.5)
    """
    if not isinstance(text, str) or not text.strip():
        raise ClaimsError(f"a claim's text must be a non-empty string, got {text!r}")
    found = list(NUMBER.finditer(text))
    if len(found) != 1:
        raise ClaimsError(f"text {text!r} must hold exactly one number, found {len(found)} "
                          f"({[m.group(0) for m in found]}); quote only the part of the sentence with that number")
    m = found[0]
    digits = m.group("int").replace(",", "")
    dec = m.group("dec") or ""
    value = float(f"{digits}.{dec}" if dec else digits)
    if m.group("sign"):
        value = -value
    tol = 0.5 * 10.0 ** (-len(dec))
    if m.group("pct"):
        value, tol = value / 100, tol / 100
    return round(value, 12), round(tol, 15)


def tokens(text: str) -> list[str]:
    """The measured-looking numbers (decimals and percentages) in a text, normalised (no space before '%').

    >>> tokens("accuracy 0.94, recall 80 % at threshold 0.5; 3 epochs")
    ['0.94', '80%', '0.5']
    """
    return [re.sub(_SPACE, "", m.group(0)) for m in RESULT_LIKE.finditer(text)]


# ---------------------------------------------------------------------------------------------------- sources
@cache
def notebook(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)


@cache
def bank(name: str) -> dict:
    path = QUIZ_DIR / f"{name}.yaml"
    if not path.exists():
        raise ClaimsError(f"there is no quiz bank quizzes/{name}.yaml")
    return yaml.safe_load(path.read_text())


def banks_shown(lesson: str) -> list[str]:
    """The quiz banks a lesson shows with ``show_quiz("...")``; their numbers are checked in its claims file."""
    source = "\n".join(c.source for c in notebook(lesson).cells if c.cell_type == "code")
    return sorted(set(re.findall(r"show_quiz\(\s*[\"']([a-z0-9_]+)[\"']", source)))


def question_text(question: dict) -> str:
    parts = []
    for field in QUIZ_TEXT_FIELDS:
        value = question.get(field)
        parts.extend(value if isinstance(value, list) else [value] if value else [])
    return "\n".join(str(p) for p in parts)


def places(lesson: str) -> dict[str, tuple[str, str]]:
    """Every place a claim may point at: where -> (kind, text). kind is 'markdown', 'code' or 'quiz'."""
    out = {c.get("id"): (c.cell_type, c.source) for c in notebook(lesson).cells}
    for name in banks_shown(lesson):
        for q in bank(name)["questions"]:
            out[f"quiz:{name}/{q['id']}"] = ("quiz", question_text(q))
    return out


def claims_path(lesson: str) -> Path:
    return CLAIMS_DIR / f"{lesson}.yaml"


def load_claims(lesson: str, path: Path | None = None) -> tuple[list[dict], list[dict]]:
    """Read and validate a lesson's claims file: (claims, not_results). Raises ClaimsError saying what to fix."""
    path = path or claims_path(lesson)
    name = f"tests/claims/{path.name}"
    if not path.exists():
        raise ClaimsError(f"{lesson}: no claims file; create {name} (see tests/claims/README.md) declaring the "
                          f"numbers its prose and quizzes quote")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ClaimsError(f"{name} is not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if isinstance(data, list):
        data = {"claims": data}
    if not isinstance(data, dict) or set(data) - TOP_KEYS:
        raise ClaimsError(f"{name}: the top level must be a list of claims or a mapping with keys "
                          f"{sorted(TOP_KEYS)}; found {sorted(data) if isinstance(data, dict) else type(data).__name__}")
    claims, not_results = data.get("claims") or [], data.get("not_results") or []
    if not isinstance(claims, list) or not isinstance(not_results, list):
        raise ClaimsError(f"{name}: 'claims' and 'not_results' must be lists")
    seen = set()
    for i, c in enumerate(claims):
        if not isinstance(c, dict):
            raise ClaimsError(f"{name}: claim #{i + 1} must be a mapping, got {c!r}")
        label = f"{name}: claim {c.get('id', f'#{i + 1}')!r}"
        if set(c) - CLAIM_KEYS:
            raise ClaimsError(f"{label}: unknown keys {sorted(set(c) - CLAIM_KEYS)}; allowed: {sorted(CLAIM_KEYS)}")
        if CLAIM_REQUIRED - set(c):
            raise ClaimsError(f"{label}: missing keys {sorted(CLAIM_REQUIRED - set(c))}")
        for key in ("id", "where", "text", "value"):
            if not isinstance(c[key], str) or not c[key].strip():
                raise ClaimsError(f"{label}: '{key}' must be a non-empty string (quote numbers: text: \"0.92\")")
        if c["id"] in seen:
            raise ClaimsError(f"{label}: duplicate id; ids must be unique in the file")
        seen.add(c["id"])
        if "tol" in c and (isinstance(c["tol"], bool) or not isinstance(c["tol"], int | float) or c["tol"] < 0
                           or not math.isfinite(c["tol"])):
            raise ClaimsError(f"{label}: tol must be a non-negative number, got {c['tol']!r}")
        try:
            parse_quoted(c["text"])
        except ClaimsError as exc:
            raise ClaimsError(f"{label}: {exc}") from None
        try:
            compile(c["value"], "<claim>", "eval")
        except SyntaxError as exc:
            raise ClaimsError(f"{label}: value {c['value']!r} is not a Python expression: {exc.msg}") from None
    for i, n in enumerate(not_results):
        if not isinstance(n, dict) or set(n) - NOT_RESULT_KEYS or not {"text", "why"} <= set(n):
            raise ClaimsError(f"{name}: not_results #{i + 1} must be a mapping with 'text' and 'why' (and "
                              f"optionally 'where'), got {n!r}")
        texts = n["text"] if isinstance(n["text"], list) else [n["text"]]
        if not texts or not all(isinstance(t, str) and tokens(t) for t in texts):
            raise ClaimsError(f"{name}: not_results #{i + 1}: text must be a decimal or percentage (or a list of "
                              f"them) as written, quoted, e.g. \"85%\"; got {n['text']!r}")
        if not isinstance(n["why"], str) or len(n["why"].strip()) < 5:
            raise ClaimsError(f"{name}: not_results #{i + 1} ({n['text']!r}): say why it is not a result")
    return claims, not_results


# ---------------------------------------------------------------------------------------------------- checks
def static_problems(lesson: str, claims: list[dict], not_results: list[dict]) -> list[str]:
    """Claims or allowlist entries that point at a missing place, or whose text is not there."""
    where = places(lesson)
    problems = []
    for c in claims:
        label = f"{lesson}: claim {c['id']!r}"
        if c["where"] not in where:
            problems.append(f"{label}: where {c['where']!r} is not a cell id of notebooks/{lesson}/{lesson}.ipynb "
                            f"nor a question quiz:<bank>/<id> of a bank it shows ({banks_shown(lesson)})")
        elif c["text"] not in where[c["where"]][1]:
            problems.append(f"{label}: text {c['text']!r} does not occur in {c['where']}; copy it verbatim from "
                            f"there (or update the claim if the prose changed)")
    for n in not_results:
        texts = n["text"] if isinstance(n["text"], list) else [n["text"]]
        scope = _scope(lesson, n.get("where"), where)
        if scope is None:
            problems.append(f"{lesson}: not_results {n['text']!r}: where {n.get('where')!r} is not a cell id, "
                            f"quiz:<bank> or quiz:<bank>/<question id> of this lesson")
            continue
        for t in texts:
            tok = tokens(t)[0]
            if not any(tok in tokens(where[w][1]) for w in scope):
                problems.append(f"{lesson}: not_results {t!r} ({n['why']}) no longer occurs "
                                f"{'in ' + n['where'] if n.get('where') else 'anywhere'}; remove the entry")
    return problems


def _scope(lesson: str, w: str | None, where: dict) -> list[str] | None:
    scanned = [k for k, (kind, _) in where.items() if kind in ("markdown", "quiz")]
    if w is None:
        return scanned
    if w in where:
        return [w]
    if w.startswith("quiz:") and "/" not in w and w[5:] in banks_shown(lesson):
        return [k for k in scanned if k.startswith(w + "/")]
    return None


def uncovered(lesson: str, claims: list[dict], not_results: list[dict]) -> list[str]:
    """Measured-looking numbers in markdown cells and shown quiz banks that are neither claimed nor allowlisted."""
    where = places(lesson)
    covered: dict[str, set[str]] = {}
    for c in claims:
        covered.setdefault(c["where"], set()).update(tokens(c["text"]))
    anywhere: set[str] = set()
    for n in not_results:
        toks = {tokens(t)[0] for t in (n["text"] if isinstance(n["text"], list) else [n["text"]])}
        if n.get("where"):
            for w in _scope(lesson, n["where"], where) or []:
                covered.setdefault(w, set()).update(toks)
        else:
            anywhere |= toks
    missing = []
    for w, (kind, text) in where.items():
        if kind not in ("markdown", "quiz"):
            continue
        for tok in dict.fromkeys(tokens(text)):
            if tok not in anywhere and tok not in covered.get(w, set()):
                line = next((ln.strip() for ln in text.splitlines() if tok in re.sub(_SPACE, "", ln)), "")
                missing.append(f"{lesson}: {w} quotes {tok!r} (\"{line[:100]}\"): declare it in "
                               f"tests/claims/{lesson}.yaml as a claim (where: {w}, text, value: the expression "
                               f"that computes it) or, if it is a setting, rule or definition, under not_results "
                               f"with a why")
    return missing


# ---------------------------------------------------------------------------------------------------- runtime
def claims_cell_source(lesson: str, claims: list[dict] | None = None) -> str:
    """Code for ONE extra cell run in the lesson's kernel after Run All: evaluates every claim's value there
    (``REPO`` is the repository root, for results files) and prints ``MARKER`` + JSON {id: {value}|{error}}."""
    if claims is None:
        claims = load_claims(lesson)[0]
    pairs = [(c["id"], c["value"]) for c in claims]
    return f'''def _course_claims(pairs, repo):
    import json, pathlib
    try:
        ns = dict(get_ipython().user_ns)
    except NameError:
        ns = dict(globals())
    ns["REPO"] = pathlib.Path(repo)
    out = {{}}
    for cid, expr in pairs:
        try:
            v = eval(expr, ns)
            if isinstance(v, (bool, str, bytes)):
                raise TypeError(f"{{type(v).__name__}} {{v!r}} is not a real number")
            out[cid] = {{"value": float(v)}}
        except Exception as exc:
            out[cid] = {{"error": f"{{type(exc).__name__}}: {{exc}}"}}
    print({MARKER!r} + json.dumps(out))
_course_claims({pairs!r}, {str(ROOT)!r})
del _course_claims'''


def read_claims_output(cell) -> dict:
    """The JSON the claims cell printed (from an executed nbformat cell)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            raise AssertionError(f"the claims cell failed: {out.get('ename')}: {out.get('evalue')}")
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            for line in out["text"].splitlines():
                if line.startswith(MARKER):
                    return json.loads(line[len(MARKER):])
    raise AssertionError(f"the claims cell printed no results: {cell.get('outputs')}")


def check_values(lesson: str, claims: list[dict], results: dict) -> list[str]:
    """Compare each claim's quoted number with the value the kernel computed; one message per failure."""
    failures = []
    for c in claims:
        quoted, default_tol = parse_quoted(c["text"])
        tol = c.get("tol", default_tol)
        label = f"{lesson}: claim {c['id']!r} ({c['where']} says {c['text']!r})"
        got = results.get(c["id"])
        if got is None:
            failures.append(f"{label}: the kernel returned nothing for it")
        elif "error" in got:
            failures.append(f"{label}: its value {c['value']!r} failed in the lesson's kernel: {got['error']}; "
                            f"fix the expression (it runs after the whole lesson, with its variables)")
        elif not abs(got["value"] - quoted) <= tol + FLOAT_SLACK:
            failures.append(f"{label}: the code gives {c['value']} = {got['value']:.6g}, not {quoted:g} "
                            f"(tolerance {tol:g}); change the text in {c['where']} to what the code prints, or, if "
                            f"the number depends on threads/hardware, write it 'about ...' and give a tol covering "
                            f"the measured range")
    return failures


# ---------------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("lesson", LESSONS)
def test_claims_file_is_well_formed(lesson):
    load_claims(lesson)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_claim_points_at_text_that_is_there(lesson):
    claims, not_results = load_claims(lesson)
    problems = static_problems(lesson, claims, not_results)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_quoted_result_is_claimed_or_allowlisted(lesson):
    claims, not_results = load_claims(lesson)
    missing = uncovered(lesson, claims, not_results)
    assert not missing, f"{len(missing)} quoted numbers are not checked:\n" + "\n".join(missing)


def test_every_bank_is_checked_by_some_lesson():
    shown = {b for lesson in LESSONS for b in banks_shown(lesson)}
    banks = {p.stem for p in QUIZ_DIR.glob("*.yaml")}
    assert banks <= shown, f"banks no lesson shows, so no claims file checks them: {sorted(banks - shown)}"


_COUNT_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


def quiz_intros(lesson: str) -> list[tuple[str, str, int | None]]:
    """(bank, intro cell id, the question count the intro states or None) for each show_quiz in the lesson; the
    intro is the nearest markdown cell above the show_quiz cell."""
    out, last_md = [], None
    for c in notebook(lesson).cells:
        if c.cell_type == "markdown":
            last_md = c
            continue
        for name in re.findall(r"show_quiz\(\s*[\"']([a-z0-9_]+)[\"']", c.source):
            m = re.search(r"\b(\d+|[A-Za-z]+)\s+(?:practice\s+|quiz\s+)?questions\b", last_md.source if last_md else "")
            word = m.group(1).lower() if m else None
            count = int(word) if word and word.isdigit() else _COUNT_WORDS.get(word) if word else None
            out.append((name, last_md.get("id") if last_md else None, count))
    return out


@pytest.mark.parametrize("lesson", LESSONS)
def test_quiz_intro_states_the_bank_size(lesson):
    for name, cell_id, count in quiz_intros(lesson):
        size = len(bank(name)["questions"])
        assert count is None or count == size, (
            f"{lesson}: the intro {cell_id} above show_quiz({name!r}) promises {count} questions, but "
            f"quizzes/{name}.yaml holds {size}; say the real count (or no count)")


@pytest.mark.parametrize(("text", "value", "tol"), [
    ("0.92", 0.92, 0.005),
    ("0.9", 0.9, 0.05),
    ("94 %", 0.94, 0.005),
    ("94%", 0.94, 0.005),
    ("94.5\u00a0%", 0.945, 0.0005),
    ("about 0.85", 0.85, 0.005),
    ("1,234", 1234.0, 0.5),
    ("12,000 images", 12000.0, 0.5),
    ("recall 0.80", 0.8, 0.005),
    ("\u22120.03", -0.03, 0.005),
    ("3", 3.0, 0.5),
])
def test_parse_quoted(text, value, tol):
    got, got_tol = parse_quoted(text)
    assert got == pytest.approx(value, abs=1e-12) and got_tol == pytest.approx(tol, abs=1e-15)


@pytest.mark.parametrize("text", ["", "no number", "0.80 and 0.70", "precision 0.9 / recall 0.7", 0.92])
def test_parse_quoted_refuses(text):
    with pytest.raises(ClaimsError):
        parse_quoted(text)


def test_tokens_find_results_not_settings_or_versions():
    assert tokens("accuracy 0.94 (94 %), 3 epochs, lr 1e-3, v2, 0.5%.") == ["0.94", "94%", "0.5%"]
    assert tokens("ends a sentence with 0.85. Then 12.5\u202f% more") == ["0.85", "12.5%"]
    assert tokens("resnet18 and cell-21, 1.2.3") == []


def _fake_results(claims, ns):
    """Run the claims cell's code in-process on a namespace, as the kernel would, and read its JSON."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(claims_cell_source("x", claims), ns)
    line = next(ln for ln in buf.getvalue().splitlines() if ln.startswith(MARKER))
    return json.loads(line[len(MARKER):])


def test_claims_cell_evaluates_in_the_kernel_namespace():
    claims = [{"id": "a", "where": "c", "text": "0.92", "value": "acc"},
              {"id": "b", "where": "c", "text": "about 94 %", "value": "hits / n", "tol": 0.02},
              {"id": "c", "where": "c", "text": "0.5", "value": "missing_name"},
              {"id": "d", "where": "c", "text": "0.5", "value": "'0.5'"},
              {"id": "e", "where": "c", "text": "0.5", "value": "REPO.exists() * 0.5"}]
    results = _fake_results(claims, {"acc": 0.9249, "hits": 93, "n": 100})
    assert results["a"] == {"value": 0.9249} and results["b"] == {"value": 0.93}
    assert "NameError" in results["c"]["error"] and "not a real number" in results["d"]["error"]
    failures = check_values("lesson", claims, results)
    assert len(failures) == 2 and "missing_name" in failures[0] and "'0.5'" in failures[1]
    assert results["e"] == {"value": 0.5}


def test_a_wrong_quoted_number_fails_with_a_message_that_says_what_to_do():
    """The deliberately wrong number: the kernel says 0.8612, the prose says 0.85."""
    claims = [{"id": "seed-accuracy", "where": "cell-21", "text": "0.85", "value": "acc"}]
    assert check_values("01_metrics", claims, _fake_results(claims, {"acc": 0.8521})) == []
    failures = check_values("01_metrics", claims, _fake_results(claims, {"acc": 0.8612}))
    assert failures == [
        "01_metrics: claim 'seed-accuracy' (cell-21 says '0.85'): the code gives acc = 0.8612, not 0.85 "
        "(tolerance 0.005); change the text in cell-21 to what the code prints, or, if the number depends on "
        "threads/hardware, write it 'about ...' and give a tol covering the measured range"]
    # the default tolerance is half a unit of the last digit shown, plus float slack, on both sides
    assert check_values("l", claims, {"seed-accuracy": {"value": 0.855}}) == []
    assert check_values("l", claims, {"seed-accuracy": {"value": 0.845}}) == []
    assert check_values("l", claims, {"seed-accuracy": {"value": 0.8551}})
    assert check_values("l", [{**claims[0], "text": "85 %"}], {"seed-accuracy": {"value": 0.8551}})
    assert not check_values("l", [{**claims[0], "text": "about 0.85", "tol": 0.02}],
                            {"seed-accuracy": {"value": 0.8699}})


def test_a_real_lesson_with_one_altered_number_fails(tmp_path):
    """Alter one claimed number in a COPY of a real lesson's claims and its notebook cell: the static checks still
    pass (the text is there) and the comparison with the value the real claim accepts fails, naming the cell."""
    lesson = "01_metrics"
    claims, not_results = load_claims(lesson)
    assert claims, f"{lesson} declares no claims"
    claim = claims[0]
    quoted, tol = parse_quoted(claim["text"])
    right = {claim["id"]: {"value": quoted}}
    assert check_values(lesson, [claim], right) == []
    m = NUMBER.search(claim["text"])
    wrong_digits = str(int(m.group("int").replace(",", "")) + 1)
    wrong_text = claim["text"][:m.start("int")] + wrong_digits + claim["text"][m.end("int"):]
    failures = check_values(lesson, [{**claim, "text": wrong_text}], right)
    assert len(failures) == 1 and claim["where"] in failures[0] and wrong_text in failures[0]
    # and a claim whose text was edited in the claims file but not in the lesson is caught statically
    assert static_problems(lesson, [{**claim, "text": wrong_text}], []), "altered text should not be found"


def test_static_checks_name_the_problem():
    lesson = "01_metrics"
    with pytest.raises(ClaimsError, match="duplicate id"):
        _load_text(lesson, "claims:\n- {id: a, where: cell-00, text: '0.5', value: '0.5'}\n"
                           "- {id: a, where: cell-00, text: '0.5', value: '0.5'}\n")
    with pytest.raises(ClaimsError, match="unknown keys"):
        _load_text(lesson, "- {id: a, where: cell-00, text: '0.5', value: '0.5', tolerance: 1}\n")
    with pytest.raises(ClaimsError, match="exactly one number"):
        _load_text(lesson, "- {id: a, where: cell-00, text: 'from 0.5 to 0.6', value: '0.5'}\n")
    with pytest.raises(ClaimsError, match="say why"):
        _load_text(lesson, "not_results:\n- {text: '0.5', why: ''}\n")
    bad = [{"id": "a", "where": "no-such-cell", "text": "0.5", "value": "0.5"},
           {"id": "b", "where": "cell-00", "text": "0.123456", "value": "0.5"}]
    problems = static_problems(lesson, bad, [{"text": "0.123456", "why": "not there at all"}])
    assert "no-such-cell" in problems[0] and "does not occur in cell-00" in problems[1]
    assert "no longer occurs" in problems[2]


def _load_text(lesson, text):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"{lesson}.yaml"
        p.write_text(text)
        return load_claims(lesson, p)


def test_the_claims_cell_runs_in_a_real_kernel_after_the_cells_and_catches_a_wrong_number(tmp_path):
    """End to end, as tests/test_notebooks.py does it: a notebook computes a value, the claims cell appended after
    its last cell reads it from the same kernel, and a quoted number that disagrees fails with its message."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nacc = float(np.mean([1, 1, 0, 1]))")]
    claims = [{"id": "right", "where": "c", "text": "75 %", "value": "acc"},
              {"id": "wrong", "where": "c", "text": "about 0.80", "value": "acc", "tol": 0.02}]
    nb.cells.append(nbformat.v4.new_code_cell(claims_cell_source("toy", claims)))
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    failures = check_values("toy", claims, read_claims_output(nb.cells[-1]))
    assert len(failures) == 1 and "claim 'wrong'" in failures[0] and "acc = 0.75, not 0.8" in failures[0]
