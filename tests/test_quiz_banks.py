"""Checks every practice quiz bank in ``quizzes/*.yaml``.

Each bank must validate against ``quizzes/schema.json`` and follow the course's conventions (one bank per
lesson, 10-12 questions with every difficulty represented, four distinct plain-text options, correct letters
spread out). Every ``snippet`` is run in a fresh interpreter and must print exactly its ``snippet_output``,
which the keyed option has to state. The seed's facts must be covered somewhere across the banks, and the
worked example's arithmetic is recomputed with scikit-learn.

Banks are discovered from the folder, so banks written later are checked as soon as they land.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

ROOT = Path(__file__).resolve().parents[1]
QUIZ_DIR = ROOT / "quizzes"
SCHEMA_PATH = QUIZ_DIR / "schema.json"
BANK_PATHS = sorted(QUIZ_DIR.glob("*.yaml"))
# Instructor-only graded banks follow the same schema and conventions (they never ship to learners).
GRADED_PATHS = sorted((ROOT / "grading" / "quizzes").glob("*.yaml"))

# The banks written for lessons 1-4; they must exist whatever else is in the folder.
LESSON_1_TO_4 = ("01_metrics", "02_pretrained_models", "03_fine_tuning", "04_precision_recall")

# Seed facts that the banks, taken together, must cover (tagged with `seed_ref`).
REQUIRED_SEED_REFS = (
    "practice-1",
    "practice-2",
    "practice-3",
    "practice-4",
    "practice-5",
    "self-check",
    "worked-example",
    "accuracy-paradox",
    "data-leakage",
    "overfitting",
    "class-imbalance",
    "tradeoff-defects",
    "tradeoff-tumours",
    "good-bad-values",
)

# Where lessons 1-4 must carry their share of the seed (other banks may repeat a tag).
SEED_REFS_BY_BANK = {
    "01_metrics": ("worked-example", "good-bad-values"),
    "02_pretrained_models": ("practice-1", "practice-2", "practice-3"),
    "03_fine_tuning": ("practice-4", "practice-5"),
    "04_precision_recall": ("tradeoff-defects", "tradeoff-tumours"),
}

# The seed's answer to each tagged fact: at least one question carrying the tag must have a keyed option
# matching every pattern (case-insensitive).
SEED_ANSWER_PATTERNS = {
    "practice-1": (r"adapt", r"less data", r"time"),
    "practice-2": (r"\.parameters\(\)", r"requires_grad\s*=\s*false"),
    "practice-3": (r"^\s*0\b",),
    "practice-4": (r"(high|large)\w*\s+learning rate|learning rate\w*\s+(is\s+)?(too\s+)?(high|large)",),
    "practice-5": (r"freez", r"\b(5|five)\b", r"low\w*\s+learning rate", r"unfreez"),
    "tradeoff-defects": (r"high precision",),
    "tradeoff-tumours": (r"high recall",),
}

# The lesson's rules of thumb for good and bad values; 01_metrics must state every one of them in its
# questions tagged `good-bad-values`.
GOOD_BAD_RULES = {
    "good: accuracy above 85%": r"accuracy (is )?(above|over|>)\s*85\s*%",
    "good: precision and recall above 80%": r"precision and recall (are )?(both )?(above|over|>)\s*80\s*%",
    "good: F1 above 0.8": r"f1 (score )?(is )?(above|over|>)\s*0\.8(?!\d)",
    "bad: accuracy below 70%": r"accuracy (is )?(below|under|<)\s*70\s*%",
    "bad: recall below 50%": r"recall (is )?(below|under|<)\s*50\s*%",
    "bad: precision below 50%": r"precision (is )?(below|under|<)\s*50\s*%",
    "bad: a large precision/recall gap": r"(large|big|wide) gap between precision and recall",
}

# The seed's worked example.
WORKED_EXAMPLE = {"TP": 80, "FN": 20, "FP": 10, "TN": 90}

# Snippets may use torch, torchvision, numpy and the standard library, minus anything that reaches a network.
ALLOWED_IMPORTS = ({"torch", "torchvision", "numpy"} | set(sys.stdlib_module_names)) - {
    "urllib",
    "http",
    "socket",
    "ftplib",
    "smtplib",
    "ssl",
    "webbrowser",
    "xmlrpc",
}
NETWORK_NAMES = {"hub", "load_state_dict_from_url", "download_url_to_file", "urlopen"}
SNIPPET_TIMEOUT_S = 180
LETTERS = "ABCDE"


# --------------------------------------------------------------------------- loading


@cache
def load_bank(path: Path) -> Any:
    """Parse one bank file (cached); errors propagate to the test that asked for it."""
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def bank_or_none(path: Path) -> dict | None:
    """The bank as a dict, or None when it does not parse (test_bank_validates_against_schema reports it)."""
    try:
        bank = load_bank(path)
    except yaml.YAMLError:
        return None
    return bank if isinstance(bank, dict) else None


def questions_of(path: Path) -> list[dict]:
    bank = bank_or_none(path)
    if bank is None or not isinstance(bank.get("questions"), list):
        return []
    return [q for q in bank["questions"] if isinstance(q, dict)]


def all_questions() -> list[tuple[str, dict]]:
    return [(path.stem, q) for path in BANK_PATHS for q in questions_of(path)]


def is_lesson_bank(path: Path) -> bool:
    """Lesson banks are named NN_<lesson>; the mastery bank spans the course and is not one."""
    return re.fullmatch(r"\d\d_[a-z0-9_]+", path.stem) is not None


def keyed_option(q: dict) -> str:
    return q["options"][LETTERS.index(q["answer"])]


def normalise(text: str) -> str:
    return " ".join(str(text).lower().split())


def states_token(text: str, token: str) -> bool:
    """True when `token` occurs in `text` on its own, not as part of a longer word or number."""
    return re.search(r"(?<![\w.,])" + re.escape(token) + r"(?![\w]|[.,]\d)", text) is not None


def bank_param(path: Path):
    return pytest.param(path, id=path.stem)


SNIPPET_QUESTIONS = [(bank, q) for bank, q in all_questions() if isinstance(q.get("snippet"), str)]
SNIPPET_CASES = [pytest.param(bank, q, id=f"{bank}:{q.get('id')}") for bank, q in SNIPPET_QUESTIONS]
SNIPPET_RUNS = [
    pytest.param(
        bank,
        q,
        id=f"{bank}:{q.get('id')}",
        # Importing torch alone takes seconds on the course machines.
        marks=[pytest.mark.slow] if re.search(r"^\s*(import|from)\s+torch", q["snippet"], re.M) else [],
    )
    for bank, q in SNIPPET_QUESTIONS
]


# --------------------------------------------------------------------------- the folder


def test_graded_bank_is_present():
    assert [p.stem for p in GRADED_PATHS] == ["mastery_graded"], f"graded banks: {GRADED_PATHS}"


def test_lesson_1_to_4_banks_exist():
    present = {path.stem for path in BANK_PATHS}
    missing = [name for name in LESSON_1_TO_4 if name not in present]
    assert not missing, f"missing quiz banks in {QUIZ_DIR}: {missing}"


def test_schema_is_a_valid_json_schema():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


# --------------------------------------------------------------------------- each bank


@pytest.mark.parametrize("path", [bank_param(p) for p in BANK_PATHS + GRADED_PATHS])
def test_bank_validates_against_schema(path: Path):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    bank = load_bank(path)  # a YAML syntax error fails here, with the line number
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(bank), key=lambda e: list(e.path))
    report = "\n".join(f"  at {'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors)
    assert not errors, f"{path.name} does not match {SCHEMA_PATH.name}:\n{report}"


@pytest.mark.parametrize("path", [bank_param(p) for p in BANK_PATHS])
def test_bank_and_lesson_names(path: Path):
    bank = load_bank(path)
    assert bank["bank"] == path.stem, f"{path.name}: `bank` is {bank['bank']!r}, must equal the file stem"
    expected_lesson = path.stem if is_lesson_bank(path) else "mastery"
    assert bank["lesson"] == expected_lesson, (
        f"{path.name}: `lesson` is {bank['lesson']!r}, expected {expected_lesson!r}"
    )


@pytest.mark.parametrize("path", [bank_param(p) for p in BANK_PATHS])
def test_question_count_and_difficulty_mix(path: Path):
    questions = load_bank(path)["questions"]
    assert len(questions) >= 10, f"{path.name}: {len(questions)} questions, need at least 10"
    if is_lesson_bank(path):
        assert len(questions) <= 12, f"{path.name}: {len(questions)} questions, a lesson bank holds 10-12"
        counts = Counter(q["difficulty"] for q in questions)
        short = {level: counts[level] for level in ("easy", "medium", "hard") if counts[level] < 3}
        assert not short, f"{path.name}: needs at least 3 questions per difficulty, has {dict(counts)}"


# The mastery bank spans all lessons, so only lesson banks carry a lesson number in their ids.
@pytest.mark.parametrize("path", [bank_param(p) for p in BANK_PATHS if is_lesson_bank(p)])
def test_ids_carry_the_lesson_prefix(path: Path):
    number = path.stem[:2]
    wrong = [q["id"] for q in load_bank(path)["questions"] if not re.match(rf"[a-z]*{number}-", q["id"])]
    assert not wrong, f"{path.name}: ids must start with the lesson prefix (e.g. m{number}-...): {wrong}"


@pytest.mark.parametrize("path", [bank_param(p) for p in BANK_PATHS + GRADED_PATHS])
def test_options_and_answer_letter(path: Path):
    for q in load_bank(path)["questions"]:
        qid, options = q["id"], q["options"]
        assert len(options) == 4, f"{qid}: {len(options)} options, each question has exactly 4"
        index = LETTERS.index(q["answer"])
        assert index < len(options), f"{qid}: answer {q['answer']} but only {len(options)} options"
        norm = [normalise(o) for o in options]
        dupes = [o for o, n in Counter(norm).items() if n > 1]
        assert not dupes, f"{qid}: duplicate options (ignoring case and spacing): {dupes}"
        for option in options:
            assert not re.match(r"\s*\(?[A-Ea-e][.):]\s", option), (
                f"{qid}: option carries a letter prefix: {option!r}"
            )
            assert "\n" not in option.strip() and "`" not in option, (
                f"{qid}: options are one line of plain text: {option!r}"
            )


@pytest.mark.parametrize("path", [bank_param(p) for p in BANK_PATHS + GRADED_PATHS])
def test_answer_letters_are_spread(path: Path):
    answers = Counter(q["answer"] for q in load_bank(path)["questions"])
    total = sum(answers.values())
    top_letter, top_count = answers.most_common(1)[0]
    assert top_count <= 0.4 * total, (
        f"{path.name}: {top_count} of {total} answers are {top_letter}: {dict(answers)}"
    )
    assert len(answers) >= 3, f"{path.name}: correct answers use only the letters {sorted(answers)}"


@pytest.mark.parametrize("path", [bank_param(p) for p in BANK_PATHS + GRADED_PATHS])
def test_explanation_parts(path: Path):
    for q in load_bank(path)["questions"]:
        qid = q["id"]
        assert "\n" not in q["hint"].strip(), f"{qid}: the hint must be one line"
        assert "\n" not in q["quick_check"].strip(), f"{qid}: quick_check must be one line"
        assert 2 <= len(q["steps"]) <= 4, f"{qid}: {len(q['steps'])} steps, write 2-4"
        assert 2 <= len(q["common_mistakes"]) <= 3, (
            f"{qid}: {len(q['common_mistakes'])} common mistakes, write 2-3"
        )
        assert q["question"].count("```") % 2 == 0, f"{qid}: unbalanced ``` code fence in the question"
        assert ("snippet" in q) == ("snippet_output" in q), f"{qid}: snippet and snippet_output come together"


def test_ids_unique_across_all_banks():
    seen: dict[str, list[str]] = {}
    for bank, q in all_questions():
        seen.setdefault(q.get("id"), []).append(bank)
    dupes = {qid: banks for qid, banks in seen.items() if len(banks) > 1}
    assert not dupes, f"question ids used more than once: {dupes}"


# --------------------------------------------------------------------------- snippets


@pytest.mark.parametrize(("bank", "q"), SNIPPET_CASES)
def test_snippet_is_offline_and_self_contained(bank: str, q: dict):
    tree = ast.parse(q["snippet"])  # a syntax error fails here
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                assert module.split(".")[0] in ALLOWED_IMPORTS, (
                    f"{q['id']}: imports {module!r}; snippets may use torch, torchvision, numpy and the standard library"
                )
        if isinstance(node, ast.keyword) and node.arg in {"weights", "weights_backbone"}:
            assert isinstance(node.value, ast.Constant) and node.value.value is None, (
                f"{q['id']}: build torchvision models with weights=None; snippets must not download weights"
            )
        if isinstance(node, ast.keyword):
            assert node.arg != "pretrained", f"{q['id']}: use weights=None instead of pretrained="
            assert not (node.arg == "download" and getattr(node.value, "value", False)), (
                f"{q['id']}: no downloads"
            )
        name = (
            node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        )
        assert name not in NETWORK_NAMES, f"{q['id']}: {name} reaches the network"


@pytest.mark.parametrize(("bank", "q"), SNIPPET_CASES)
def test_keyed_option_and_only_it_states_the_snippet_output(bank: str, q: dict):
    output = str(q["snippet_output"]).strip()
    assert output, f"{q['id']}: empty snippet_output"
    assert output in keyed_option(q), f"{q['id']}: keyed option {keyed_option(q)!r} does not state {output!r}"
    rivals = [o for o in q["options"] if o != keyed_option(q) and states_token(o, output)]
    assert not rivals, f"{q['id']}: distractors also state the snippet's output {output!r}: {rivals}"


@pytest.mark.parametrize(("bank", "q"), SNIPPET_RUNS)
def test_snippet_prints_its_output(bank: str, q: dict, tmp_path: Path):
    script = tmp_path / f"{q['id']}.py"
    script.write_text(q["snippet"], encoding="utf-8")
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",  # same answer on every machine
        "OMP_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "TORCH_HOME": str(tmp_path / "torch-home"),  # no cached weights to lean on
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT_S,
    )
    assert result.returncode == 0, f"{q['id']}: snippet failed:\n{result.stderr}"
    assert result.stdout.strip() == str(q["snippet_output"]).strip(), (
        f"{q['id']}: snippet printed {result.stdout.strip()!r}, snippet_output says {q['snippet_output']!r}"
    )


# --------------------------------------------------------------------------- the seed


@pytest.mark.parametrize("tag", REQUIRED_SEED_REFS)
def test_seed_fact_is_covered(tag: str):
    tagged = [(bank, q) for bank, q in all_questions() if q.get("seed_ref") == tag]
    assert tagged, f"no question in {QUIZ_DIR} carries seed_ref {tag!r}"
    patterns = SEED_ANSWER_PATTERNS.get(tag)
    if patterns:
        matching = [q["id"] for _, q in tagged if all(re.search(p, keyed_option(q), re.I) for p in patterns)]
        assert matching, (
            f"no question tagged {tag!r} keys an answer matching {patterns}: {[q['id'] for _, q in tagged]}"
        )


def test_self_check_states_the_seed_numbers():
    texts = [q["question"] for _, q in all_questions() if q.get("seed_ref") == "self-check"]
    if not texts:
        pytest.fail("no question carries seed_ref 'self-check'")
    both = [t for t in texts if re.search(r"98\s*%|0\.98", t) and re.search(r"12\s*%|0\.12", t)]
    assert both, "no self-check question states the seed's 98% accuracy and 12% recall"


@pytest.mark.parametrize("bank", SEED_REFS_BY_BANK)
def test_lesson_bank_carries_its_seed_facts(bank: str):
    path = QUIZ_DIR / f"{bank}.yaml"
    tags = {q.get("seed_ref") for q in questions_of(path)}
    missing = [tag for tag in SEED_REFS_BY_BANK[bank] if tag not in tags]
    assert not missing, f"{path.name} lacks questions tagged {missing}"


def test_metrics_bank_states_every_good_and_bad_threshold():
    tagged = [q for q in questions_of(QUIZ_DIR / "01_metrics.yaml") if q.get("seed_ref") == "good-bad-values"]
    text = normalise(
        " ".join(q["question"] + " " + " ".join(q["steps"]) + " " + q["quick_check"] for q in tagged)
    )
    missing = [rule for rule, pattern in GOOD_BAD_RULES.items() if not re.search(pattern, text)]
    assert not missing, f"01_metrics's good-bad-values questions never state: {missing}"


def _worked_example_reference() -> dict[str, float]:
    """The worked example's metrics, computed by scikit-learn from labels rebuilt from the four counts."""
    c = WORKED_EXAMPLE
    y_true = [1] * c["TP"] + [1] * c["FN"] + [0] * c["FP"] + [0] * c["TN"]
    y_pred = [1] * c["TP"] + [0] * c["FN"] + [1] * c["FP"] + [0] * c["TN"]
    return {
        "total": len(y_true),
        "precision": precision_score(y_true, y_pred),
        "recall": recall_score(y_true, y_pred),
        "accuracy": accuracy_score(y_true, y_pred),
        "f1": f1_score(y_true, y_pred),
    }


def _metric_claims(step: str) -> list[tuple[str, float, int]]:
    """Claims like 'Precision = TP / (TP + FP) = 80 / 90 = 0.89' as (metric, value, decimals shown)."""
    claims = []
    for chunk in re.split(r"[;\n]|\.\s+", step):
        head = re.match(r"\s*(?:the\s+)?(precision|recall|accuracy|f1|total)\b", chunk, re.I)
        if not head or not re.search(r"[=≈]", chunk):
            continue
        tail = re.split(r"[=≈]", chunk)[-1].strip()
        value = re.match(r"(\d+(?:\.(\d+))?)\s*(%?)(?=\s|$|[),.;](?!\d))", tail)
        if not value:
            continue
        number = float(value.group(1)) / (100 if value.group(3) else 1)
        decimals = len(value.group(2) or "") + (2 if value.group(3) else 0)
        claims.append((head.group(1).lower(), number, decimals))
    return claims


def test_worked_example_arithmetic():
    reference = _worked_example_reference()
    assert reference["total"] == 200  # the seed's own statement of the total
    tagged = [(bank, q) for bank, q in all_questions() if q.get("seed_ref") == "worked-example"]
    assert tagged, "no question carries seed_ref 'worked-example'"
    checked, with_counts = 0, 0
    for bank, q in tagged:
        stated = {
            name: int(m.group(1))
            for name in WORKED_EXAMPLE
            if (m := re.search(rf"\b{name}\b\W{{0,6}}?(\d+)", q["question"]))
        }
        if stated:
            with_counts += 1
            assert stated == WORKED_EXAMPLE, (
                f"{bank}:{q['id']} states counts {stated}, the seed's are {WORKED_EXAMPLE}"
            )
        for step in q["steps"]:
            for metric, value, decimals in _metric_claims(step):
                tolerance = 0.5 * 10**-decimals + 1e-9
                assert abs(value - reference[metric]) <= tolerance, (
                    f"{bank}:{q['id']} says {metric} = {value}, scikit-learn gives {reference[metric]:.4f}"
                )
                checked += 1
    assert with_counts, "no worked-example question states the confusion-matrix counts"
    assert checked, "no worked-example question states a metric value in its steps to check"
