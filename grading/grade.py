"""``make grade``: autograde every submission in parallel, safely, then write feedback, grades.csv and a report.

Usage (from the repository root; ``make grade ASSIGNMENT=ps1`` runs the second line)::

    python grading/grade.py                      # every assignment that has submissions
    python grading/grade.py --assignment ps1     # one assignment
    python grading/grade.py --setup              # only install/check the sandbox (bubblewrap), then exit

How it works (details in ``docs/instructors.md``):

1. The sandbox is checked (and bubblewrap installed with apt when running as root); without it, a loud warning.
2. ``gradebook.db`` is backed up to ``.grading/backups/`` and read in full.
3. Each submission that is new or changed since the last run is autograded by *real* ``nbgrader autograde`` in a
   worker process, inside its own throw-away course folder with its own copy of the gradebook - so workers never
   share a sqlite file and run in parallel (``--jobs``, default: one per core). Graded code runs in the sandboxed
   ``course-grader`` kernel through ``grading.execute.SafeExecute``. A worker that overruns ``--student-timeout``
   is killed and the submission reported as failed.
4. Back in this process, one at a time, each result is merged into the real gradebook by nbgrader's own
   ``SaveAutoGrades`` and ``AssignLatePenalties`` (exactly what ``autograde`` does after executing), and the
   executed notebooks move into ``autograded/``.
5. ``generate_feedback`` (hidden tests stripped) and ``export`` (``grades.csv``) run as usual.
6. The gradebook is compared with the snapshot of step 2: if grading changed anything it does not own, the backup is
   restored and the run fails. ``grading_report.csv`` and ``grading_report.md`` list every submission with its status
   (``graded``, ``flagged`` - graded, but something happened that a person should look at -, ``failed``,
   ``skipped`` - unchanged since the last run -, ``missing``) and the reasons.

Re-running is idempotent: unchanged submissions are skipped (``--force`` regrades them), manual grades survive.

Examples
--------
>>> from grading.grade import parse_args
>>> parse_args(["--assignment", "ps1", "--jobs", "2"]).jobs
2
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import fcntl
import hashlib
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from grading import integrity  # noqa: E402
from grading.execute import INCIDENT_NAMES, TRUNCATION_MARK  # noqa: E402
from grading.sandbox import Limits, ensure_bubblewrap, sandbox_status  # noqa: E402

__all__ = ["Result", "grade", "main", "parse_args", "scan_incidents", "submission_hash"]

STATE_DIR = ".grading"
BIG_FOLDER_BYTES = 50 * 2**20


# ---------------------------------------------------------------------------------------------------- data
@dataclasses.dataclass
class Result:
    """What happened to one submission (a row of ``grading_report.csv``).

    Examples
    --------
    >>> Result("ps1", "ann", "graded", score=3.0, max_score=4.0).row()["score"]
    '3'
    """

    assignment: str
    student: str
    status: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)

    def row(self) -> dict[str, str]:
        """The CSV row."""
        def num(x: float | None) -> str:
            return "" if x is None else f"{x:g}"
        return {"assignment": self.assignment, "student": self.student, "status": self.status,
                "score": num(self.score), "max_score": num(self.max_score), "seconds": f"{self.seconds:.1f}",
                "notes": " | ".join(self.notes)}


# ---------------------------------------------------------------------------------------------------- helpers
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (see ``python grading/grade.py --help``)."""
    p = argparse.ArgumentParser(prog="grading/grade.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--assignment", "-a", action="append", default=None,
                   help="assignment to grade (repeatable); default: every assignment with submissions")
    p.add_argument("--student", "-s", action="append", default=None, help="only these students (repeatable)")
    p.add_argument("--course-dir", default=".", help="course directory (holds nbgrader_config.py); default: .")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel workers (default: CPU cores, capped by RAM)")
    p.add_argument("--force", action="store_true", help="regrade submissions that did not change")
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds (default: the config's)")
    p.add_argument("--notebook-timeout", type=int, default=None, help="wall-clock budget per notebook (seconds)")
    p.add_argument("--student-timeout", type=int, default=None,
                   help="kill a worker after this many seconds on one submission (default: from notebook budget)")
    p.add_argument("--memory-mb", type=int, default=None, help="memory limit per grading kernel (default 4096)")
    p.add_argument("--cpu-seconds", type=int, default=None, help="CPU-time limit per grading kernel (default 1800)")
    sandbox = p.add_mutually_exclusive_group()
    sandbox.add_argument("--require-sandbox", action="store_true", help="refuse to grade without bubblewrap")
    sandbox.add_argument("--no-sandbox", action="store_true", help="grade without bubblewrap (not recommended)")
    p.add_argument("--no-install", action="store_true", help="never try to apt-get install bubblewrap")
    p.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    p.add_argument("--no-export", action="store_true", help="skip export to grades.csv")
    p.add_argument("--setup", action="store_true", help="install/check the sandbox, print its status and exit")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        p.error(f"--jobs must be at least 1, got {args.jobs}")
    for name in ("timeout", "notebook_timeout", "student_timeout", "memory_mb", "cpu_seconds"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {value}")
    return args


def submission_hash(folder: Path) -> str:
    """SHA-256 over the relative paths and contents of every file in a submission folder.

    Examples
    --------
    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("x")
    >>> submission_hash(d) == submission_hash(d)
    True
    """
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def scan_incidents(nb: Any) -> list[str]:
    """Incidents recorded in an executed notebook: crashes, timeouts, tampering, memory errors, truncated output.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("x")
    >>> cell.outputs = [nbformat.v4.new_output("error", ename="KernelDied", evalue="exit 1", traceback=[])]
    >>> scan_incidents(nbformat.v4.new_notebook(cells=[cell]))
    ['cell 1: KernelDied: exit 1']
    """
    notes: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                ename, evalue = out.get("ename", ""), str(out.get("evalue", ""))
                memory = ename == "MemoryError" or "can't allocate memory" in evalue or "out of memory" in evalue
                if ename in INCIDENT_NAMES or memory:
                    label = "MemoryError (memory limit)" if memory and ename not in INCIDENT_NAMES else ename
                    notes.append(f"{where}: {label}: {evalue[:160]}".rstrip(": "))
            elif kind == "stream" and TRUNCATION_MARK in out.get("text", ""):
                notes.append(f"{where}: output truncated")
    return notes


def failure_reason(out: dict) -> str:
    """The most telling line of a failed autograde: the first real exception, not nbgrader's "see above".

    Examples
    --------
    >>> failure_reason({"log": "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON",
    ...                 "error": "NbGraderException: Please see the above traceback"})
    'nbformat.reader.NotJSONError: Notebook does not appear to be JSON'
    """
    text = f"{out.get('log') or ''}\n{out.get('error') or ''}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    pattern = re.compile(r"^[\w.]*(Error|Exception|Interrupt|Exit)\b.*?: ")
    found = [ln for ln in lines if pattern.match(ln) and "NbGraderException" not in ln]
    if found:
        return found[-1]
    return lines[-1] if lines else "unknown error"


def _load_config(course_dir: Path):
    from traitlets.config.loader import PyFileConfigLoader

    if not (course_dir / "nbgrader_config.py").exists():
        raise FileNotFoundError(f"no nbgrader_config.py in {course_dir}: run grade.py from the course directory "
                                "or pass --course-dir")
    return PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()


def _coursedir(course_dir: Path, config):
    from nbgrader.coursedir import CourseDirectory

    cd = CourseDirectory(config=config)
    cd.root = str(course_dir)
    url = cd.db_url
    if url.startswith("sqlite:///") and not os.path.isabs(url.removeprefix("sqlite:///")):
        # a relative sqlite path follows the current folder: pin it to the course instead
        cd.db_url = "sqlite:///" + str(Path(course_dir) / url.removeprefix("sqlite:///"))
    return cd


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextlib.contextmanager
def _run_lock(state: Path) -> Iterator[None]:
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another grading run holds {state / 'lock'}; wait for it to finish") from None
        yield


def _print(msg: str = "") -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------- worker side
def _copy_supporting_files(source: Path, dest: Path, ignore: Sequence[str]) -> None:
    """The assignment's non-notebook files (autograde copies them next to the submission); never the notebooks."""
    import fnmatch

    dest.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if path.is_dir() or path.suffix == ".ipynb" or any(fnmatch.fnmatch(part, pat) for part in rel.parts
                                                             for pat in ignore):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / rel)


def autograde_isolated(task: dict) -> dict:
    """Autograde one submission in a private course folder with its own gradebook copy (runs in a worker).

    ``task`` keys: ``course_dir``, ``assignment``, ``student``, ``workdir``, ``snapshot_db``, ``overrides``
    (traitlets config values such as ``{"Execute": {"timeout": 5}}``).
    """
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config import Config

    course = Path(task["course_dir"])
    config = _load_config(course)
    cd = _coursedir(course, config)
    root = Path(task["workdir"])
    if root.exists():
        shutil.rmtree(root)
    (root / "submitted" / task["student"]).mkdir(parents=True)
    shutil.copytree(Path(cd.format_path(cd.submitted_directory, task["student"], task["assignment"])),
                    root / "submitted" / task["student"] / task["assignment"], symlinks=False)
    _copy_supporting_files(Path(cd.format_path(cd.source_directory, ".", task["assignment"])),
                           root / "source" / task["assignment"], cd.ignore)
    shutil.copyfile(task["snapshot_db"], root / "gradebook.db")
    local = Config()
    local.CourseDirectory.root = str(root)
    local.CourseDirectory.source_directory = "source"
    local.CourseDirectory.submitted_directory = "submitted"
    local.CourseDirectory.autograded_directory = "autograded"
    local.CourseDirectory.feedback_directory = "feedback"
    local.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    for section, values in task.get("overrides", {}).items():
        for key, value in values.items():
            local[section][key] = value
    config.merge(local)
    wcd = _coursedir(root, config)
    api = NbGraderAPI(coursedir=wcd, config=config)
    started = time.monotonic()
    out = api.autograde(task["assignment"], task["student"], force=True, create=True)
    log = out.get("log", "")
    autograded = Path(wcd.format_path(wcd.autograded_directory, task["student"], task["assignment"]))
    return {"success": bool(out.get("success")) and autograded.is_dir(), "error": out.get("error", ""),
            "log": log, "autograded": str(autograded), "seconds": time.monotonic() - started}


def _exit_with_parent() -> None:
    """Kill this worker (and with it, through bubblewrap's --die-with-parent, its kernels) if ``make grade`` dies.

    Workers run in their own session, so a Ctrl-C in the terminal does not reach them and the parent's cleanup
    kills them; this covers a parent killed outright (SIGKILL, a closed terminal), which runs no cleanup.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def worker_main() -> None:
    """Serve tasks: one JSON line in on stdin, one JSON line out on the original stdout."""
    _exit_with_parent()
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else written to stdout (kernels included) goes to the worker log
    sys.stdout = sys.stderr
    for line in sys.stdin:
        task = json.loads(line)
        try:
            result = autograde_isolated(task)
        except Exception as err:  # report, never die: the parent decides
            import traceback

            result = {"success": False, "error": f"{type(err).__name__}: {err}\n{traceback.format_exc()}",
                      "log": "", "autograded": "", "seconds": 0.0}
        proto.write(json.dumps(result) + "\n")
        proto.flush()


class _Worker:
    """A long-lived ``grade.py --worker`` process (pays nbgrader's import once) that can be killed on timeout."""

    def __init__(self, env: dict, log: Path) -> None:
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
                                     start_new_session=True, cwd=str(_REPO))
        self.buffer = b""

    def run(self, task: dict, timeout: float) -> dict | None:
        """The result, or None if the worker died or ran past ``timeout`` (then it is killed)."""
        try:
            self.proc.stdin.write((json.dumps(task) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return None
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if not self.log.closed:
            self.log.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        if self.proc.poll() is None:
            self.kill()
        else:
            self.log.close()


# ---------------------------------------------------------------------------------------------------- parent side
def _merge(cd, config, assignment: str, student: str, executed_dir: Path) -> tuple[float, float, list[str]]:
    """Write one worker's result into the real gradebook (nbgrader's own save steps) and move it into autograded/."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own session noise, harmless
    notes: list[str] = []
    submitted = Path(cd.format_path(cd.submitted_directory, student, assignment))
    timestamp = cd.get_existing_timestamp(str(submitted))
    with Gradebook(cd.db_url, cd.course_id) as gb:
        gb.update_or_create_student(student)
        if timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, student)
        names = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        for name in names:
            if not (executed_dir / f"{name}.ipynb").exists():
                notes.append(f"{name}.ipynb: not submitted (0 points)")
                for g in gb.find_submission_notebook(name, assignment, student).grades:
                    g.auto_score = 0
                    g.needs_manual_grade = False
                gb.db.commit()
    for name in names:
        path = executed_dir / f"{name}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        notes += [f"{name}: {n}" for n in scan_incidents(nb)]
        resources = {"nbgrader": {"db_url": cd.db_url, "assignment": assignment, "notebook": name,
                                  "student": student}}
        SaveAutoGrades(config=config).preprocess(nb, resources)
        AssignLatePenalties(config=config).preprocess(nb, resources)
    written = sum(p.stat().st_size for p in executed_dir.rglob("*") if p.is_file())
    if written > BIG_FOLDER_BYTES:
        notes.append(f"the submission's folder holds {written / 2**20:.0f} MB after grading (files written by its code)")
    dest = Path(cd.format_path(cd.autograded_directory, student, assignment))
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(f".{assignment}.incoming")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(executed_dir, staging)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(staging, dest)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        sub = gb.find_submission(assignment, student)
        return float(sub.score), float(sub.max_score), notes


def _ensure_student(cd, student: str) -> None:
    """A failed submission's student still appears in grades.csv (with 0; the report says why)."""
    from nbgrader.api import Gradebook

    with Gradebook(cd.db_url, cd.course_id) as gb:
        gb.update_or_create_student(student)


def _assignments_with_submissions(cd) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    base = Path(cd.root) / cd.submitted_directory
    if base.is_dir():
        for student_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for a in sorted(p for p in student_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                found.setdefault(a.name, []).append(student_dir.name)
    return found


def _ensure_in_gradebook(cd, config, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps.api import NbGraderAPI

    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            gb.find_assignment(assignment)
            if gb.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    source = Path(cd.format_path(cd.source_directory, ".", assignment))
    if not source.is_dir():
        raise ValueError(f"assignment {assignment!r} has submissions but neither a gradebook entry nor a source "
                         f"folder {source}; run `nbgrader generate_assignment {assignment}` first")
    _print(f">> {assignment} is not in the gradebook yet: running generate_assignment")
    out = NbGraderAPI(coursedir=cd, config=config).generate_assignment(assignment, force=True, create=True)
    if not out.get("success"):
        raise RuntimeError(f"generate_assignment {assignment} failed:\n{out.get('error') or out.get('log')}")


def _default_jobs(memory_mb: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        avail_mb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (ValueError, OSError):
        avail_mb = memory_mb * cores
    # a kernel that imported torch holds ~1 GB; budget half its memory limit on top of that per job
    return max(1, min(cores, avail_mb // (1024 + memory_mb // 2)))


def _write_reports(course: Path, results: list[Result], sandbox: str, elapsed: float) -> None:
    fields = ["assignment", "student", "status", "score", "max_score", "seconds", "notes"]
    with open(course / "grading_report.csv.tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in results:
            w.writerow(r.row())
    os.replace(course / "grading_report.csv.tmp", course / "grading_report.csv")
    lines = [f"# Grading report ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"Sandbox: {sandbox}. Wall time: {elapsed:.0f} s.", "",
             "| assignment | student | status | score | seconds | notes |", "|---|---|---|---|---|---|"]
    for r in results:
        row = r.row()
        score = f"{row['score']} / {row['max_score']}" if row["score"] else ""
        lines.append(f"| {r.assignment} | {r.student} | {r.status} | {score} | {row['seconds']} | "
                     f"{row['notes'].replace('|', '/')} |")
    _atomic_write(course / "grading_report.md", "\n".join(lines) + "\n")


def _summary(results: list[Result]) -> str:
    width = max([len(r.student) for r in results] + [7])
    out = [f"{'assignment':<12} {'student':<{width}} {'status':<8} {'score':>11} {'secs':>6}  notes"]
    for r in results:
        row = r.row()
        score = f"{row['score']}/{row['max_score']}" if row["score"] else "-"
        out.append(f"{r.assignment:<12} {r.student:<{width}} {r.status:<8} {score:>11} {row['seconds']:>6}  "
                   f"{row['notes'][:150]}")
    return "\n".join(out)


def grade(args: argparse.Namespace) -> int:
    """Run the whole pipeline (see the module docstring). Returns the process exit status.

    0: everything graded (flagged submissions included); 1: some submission failed; 2: gradebook check failed
    (the backup was restored); 3: the sandbox was required but is unavailable.
    """
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.plugins import CsvExportPlugin

    course = Path(args.course_dir).resolve()
    config = _load_config(course)
    cd = _coursedir(course, config)
    state_dir = course / STATE_DIR
    started = time.monotonic()

    status = sandbox_status() if args.no_install else ensure_bubblewrap(install=True)
    if args.no_sandbox:
        status = dataclasses.replace(status, available=False, method="none", reason="--no-sandbox")
    if args.require_sandbox and not status.available:
        _print(f"ERROR: --require-sandbox, but the sandbox is unavailable: {status.reason}")
        return 3
    sandbox_line = status.describe()
    _print(f">> sandbox: {sandbox_line}")

    with _run_lock(state_dir):
        submissions = _assignments_with_submissions(cd)
        assignments = args.assignment or sorted(submissions)
        if not assignments:
            _print(f"nothing to grade: no submissions under {Path(cd.root) / cd.submitted_directory}")
            return 0
        db_path = Path(cd.db_url.removeprefix("sqlite:///"))
        if not db_path.is_absolute():
            db_path = course / db_path
        for a in assignments:
            if submissions.get(a):
                _ensure_in_gradebook(cd, config, a)
        db_exists = db_path.exists()
        backup = integrity.backup(db_path, state_dir / "backups") if db_exists else None
        before = integrity.snapshot(db_path) if db_exists else integrity.Snapshot()
        state_file = state_dir / "state.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}

        results: list[Result] = []
        todo: list[tuple[str, str, str]] = []
        with Gradebook(cd.db_url, cd.course_id) as gb:
            known_students = [s.id for s in gb.students]
            for a in assignments:
                students = submissions.get(a, [])
                if args.student:
                    students = [s for s in students if s in args.student]
                for s in students:
                    folder = Path(cd.format_path(cd.submitted_directory, s, a))
                    digest = submission_hash(folder)
                    done = state.get(f"{a}/{s}", {})
                    graded_dir = Path(cd.format_path(cd.autograded_directory, s, a))
                    try:
                        sub = gb.find_submission(a, s)
                        in_db = True
                    except Exception:
                        in_db = False
                    if (not args.force and done.get("hash") == digest and done.get("status") in {"graded", "flagged"}
                            and graded_dir.is_dir() and in_db):
                        results.append(Result(a, s, "skipped", float(sub.score), float(sub.max_score),
                                              notes=["unchanged since the last run (--force regrades)"]
                                              + done.get("notes", [])))
                    else:
                        todo.append((a, s, digest))
                if not args.student:
                    for s in sorted(set(known_students) - set(submissions.get(a, []))):
                        results.append(Result(a, s, "missing", 0.0, None, notes=["no submission (exported as 0)"]))

        limits = Limits(memory_mb=args.memory_mb or Limits.memory_mb, cpu_seconds=args.cpu_seconds or Limits.cpu_seconds)
        jobs = max(1, min(args.jobs or _default_jobs(limits.memory_mb), len(todo) or 1))
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, cores // jobs)
        overrides: dict[str, dict[str, Any]] = {}
        if args.timeout:
            overrides.setdefault("Execute", {})["timeout"] = args.timeout
        if args.notebook_timeout:
            overrides.setdefault("SafeExecute", {})["notebook_timeout"] = args.notebook_timeout
        nb_budget = args.notebook_timeout or int(config.SafeExecute.get("notebook_timeout", 1200))
        _print(f">> {len(todo)} submission(s) to autograde with {jobs} worker(s), {threads} thread(s) each; "
               f"{len(results)} skipped or missing")

        merged: set[tuple[str, str]] = set()
        failed_students: set[str] = set()
        failures = 0
        phases = {"jobs": jobs, "submissions": len(todo)}
        t_phase = time.monotonic()
        if todo:
            run_dir = Path(tempfile.mkdtemp(prefix="grade-", dir=os.environ.get("GRADER_TMP") or None))
            logs = state_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            snapshot_db = run_dir / "gradebook-snapshot.db"
            integrity.backup(db_path, run_dir).rename(snapshot_db)
            env = dict(os.environ, GRADER_MEMORY_MB=str(limits.memory_mb), GRADER_CPU_SECONDS=str(limits.cpu_seconds),
                       GRADER_THREADS=str(threads), PYTHONUNBUFFERED="1")
            env["GRADER_SANDBOX"] = "off" if args.no_sandbox else ("required" if args.require_sandbox else "auto")
            tasks: queue.Queue = queue.Queue()
            done_q: queue.Queue = queue.Queue()
            for a, s, digest in todo:
                n_notebooks = max(1, len(list(Path(cd.format_path(cd.submitted_directory, s, a)).glob("*.ipynb"))))
                limit = args.student_timeout or n_notebooks * (nb_budget + 120) + 120
                tasks.put({"course_dir": str(course), "assignment": a, "student": s, "digest": digest,
                           "workdir": str(run_dir / f"{a}--{s}"), "snapshot_db": str(snapshot_db),
                           "overrides": overrides, "limit": limit})

            def slot(i: int) -> None:
                worker_env = dict(env, JUPYTER_RUNTIME_DIR=tempfile.mkdtemp(prefix=f"rt{i}-", dir=run_dir))
                worker: _Worker | None = None
                try:
                    while True:
                        try:
                            task = tasks.get_nowait()
                        except queue.Empty:
                            return
                        if worker is None or not worker.alive():
                            worker = _Worker(worker_env, logs / f"worker-{i}.log")
                            live.append(worker)
                        t0 = time.monotonic()
                        out = worker.run(task, task["limit"])
                        if out is None:
                            reason = (f"timed out after {task['limit']} s (worker killed)"
                                      if time.monotonic() - t0 >= task["limit"] else "worker process died")
                            out = {"success": False, "error": reason, "log": ""}
                            worker.kill()
                            worker = None
                        done_q.put((task, out, time.monotonic() - t0))
                finally:
                    if worker is not None:
                        worker.close()

            live: list[_Worker] = []
            threads_ = [threading.Thread(target=slot, args=(i,), daemon=True) for i in range(jobs)]
            for t in threads_:
                t.start()
            try:
                for _ in range(len(todo)):
                    task, out, secs = done_q.get()
                    a, s = task["assignment"], task["student"]
                    log_file = logs / a / f"{s}.log"
                    log_file.parent.mkdir(parents=True, exist_ok=True)
                    log_file.write_text((out.get("log") or "") + "\n" + (out.get("error") or ""))
                    if not out.get("success"):
                        failures += 1
                        _ensure_student(cd, s)
                        failed_students.add(s)
                        results.append(Result(a, s, "failed", seconds=secs,
                                              notes=[f"not graded: {failure_reason(out)[:200]}",
                                                     f"log: {log_file.relative_to(course)}"]))
                        state[f"{a}/{s}"] = {"hash": task["digest"], "status": "failed"}
                    else:
                        try:
                            score, max_score, notes = _merge(cd, config, a, s, Path(out["autograded"]))
                        except Exception as err:  # a merge problem must not lose the other students
                            failures += 1
                            failed_students.add(s)
                            results.append(Result(a, s, "failed", seconds=secs,
                                                  notes=[f"merge failed: {type(err).__name__}: {err}"]))
                            state[f"{a}/{s}"] = {"hash": task["digest"], "status": "failed"}
                        else:
                            merged.add((a, s))
                            res = Result(a, s, "flagged" if notes else "graded", score, max_score, secs, notes)
                            results.append(res)
                            state[f"{a}/{s}"] = {"hash": task["digest"], "status": res.status, "notes": notes}
                        shutil.rmtree(task["workdir"], ignore_errors=True)
                    _atomic_write(state_file, json.dumps(state, indent=1, sort_keys=True))
                    r = results[-1]
                    _print(f"   {r.status:<7} {a}/{s} {r.row()['score'] or '-'}/{r.row()['max_score'] or '-'} "
                           f"({secs:.0f} s){'  ' + r.notes[0] if r.notes else ''}")
            finally:
                while not tasks.empty():  # interrupted: hand out nothing more
                    with contextlib.suppress(queue.Empty):
                        tasks.get_nowait()
                for t in threads_:
                    t.join(timeout=5)
                for w in live:  # workers run in their own sessions: Ctrl-C does not reach them
                    if w.alive():
                        w.kill()
                shutil.rmtree(run_dir, ignore_errors=True)

        phases["autograde_s"] = round(time.monotonic() - t_phase, 2)
        t_phase = time.monotonic()
        api = NbGraderAPI(coursedir=cd, config=config)
        if not args.no_feedback:
            for a in assignments:
                if any(r.assignment == a and r.status in {"graded", "flagged", "skipped"} for r in results):
                    out = api.generate_feedback(a, force=True)
                    if not out.get("success"):
                        _print(f"WARNING: generate_feedback {a} failed:\n{out.get('error') or out.get('log')}")
        phases["feedback_s"] = round(time.monotonic() - t_phase, 2)
        t_phase = time.monotonic()
        if not args.no_export:
            with Gradebook(cd.db_url, cd.course_id) as gb:
                CsvExportPlugin(config=config, to=str(course / "grades.csv")).export(gb)
        phases["export_s"] = round(time.monotonic() - t_phase, 2)

        problems = integrity.verify(before, integrity.snapshot(db_path), merged,
                                    new_students=failed_students) if db_exists else []
        if problems:
            if backup is not None:
                integrity.restore(backup, db_path)
            _print("ERROR: the gradebook changed in ways grading does not own; the backup "
                   f"{backup} was restored. Differences:\n  " + "\n  ".join(problems[:30]))
            return 2
        order = {"failed": 0, "flagged": 1, "graded": 2, "skipped": 3, "missing": 4}
        results.sort(key=lambda r: (r.assignment, order.get(r.status, 9), r.student))
        elapsed = time.monotonic() - started
        _write_reports(course, results, sandbox_line, elapsed)
        phases.update(total_s=round(elapsed, 2), sandbox=sandbox_line,
                      statuses={k: sum(r.status == k for r in results) for k in order})
        _atomic_write(state_dir / "last_run.json", json.dumps(phases, indent=1))
        _print("\n" + _summary(results))
        counts = {k: sum(r.status == k for r in results) for k in order}
        _print(f"\n>> {', '.join(f'{v} {k}' for k, v in counts.items() if v)} in {elapsed:.0f} s; "
               f"gradebook intact (backup {backup.name if backup else '-'}); see grading_report.md"
               + ("" if args.no_export else ", grades.csv"))
        if not status.available:
            _print("!! graded WITHOUT a sandbox - see the warning above")
        return 1 if failures else 0


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``make grade``."""
    args = parse_args(argv)
    if args.worker:
        worker_main()
        return 0
    # SIGTERM (kill, a CI timeout) unwinds like Ctrl-C does, so the workers and their kernels are stopped too
    signal.signal(signal.SIGTERM, _terminated)
    if args.setup:
        status = ensure_bubblewrap(install=not args.no_install)
        _print(f"grading sandbox: {status.describe()}")
        return 0
    try:
        return grade(args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        _print(f"ERROR: {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
