"""The instructor pipeline's parts (fast) and nbgrader's standard workflow on this course's config (slow).

The hostile-submission suite is in ``tests/test_grading_hostile.py``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import warnings
import zipfile
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own session noise

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from grading import integrity, sandbox  # noqa: E402
from grading.classroom import (  # noqa: E402
    cell_by_id,
    generate,
    new_course,
    release_notebooks,
    solution_sources,
    solved,
    submit,
)
from grading.execute import SafeExecute, _ends_with_expression, defined_names  # noqa: E402
from grading.feedback import HIDDEN_FAILURE, ClearHiddenTestsAndOutputs  # noqa: E402
from grading.grade import failure_reason, parse_args, scan_incidents, submission_hash  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "grading" / "ps0"
VENV_BIN = str(Path(sys.executable).parent)


@pytest.fixture(autouse=True)
def _venv_on_path(monkeypatch):
    # nbgrader shells out to `alembic` when it creates a gradebook
    monkeypatch.setenv("PATH", VENV_BIN + os.pathsep + os.environ.get("PATH", ""))


def _load_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


# ------------------------------------------------------------------------------------------ sandbox (fast)
def test_limits_reject_bad_values():
    with pytest.raises(ValueError, match="memory_mb"):
        sandbox.Limits(memory_mb=0)
    with pytest.raises(ValueError, match="threads"):
        sandbox.Limits(threads=-1)
    with pytest.raises(ValueError, match="GRADER_CPU_SECONDS must be an integer"):
        sandbox.Limits.from_env({"GRADER_CPU_SECONDS": "lots"})


def test_limits_are_applied_to_a_child_process():
    code = ("import resource, sys; sys.path.insert(0, sys.argv[1]); from grading.sandbox import Limits; "
            "Limits(memory_mb=1500, cpu_seconds=77, file_mb=3).apply(); "
            "print([resource.getrlimit(k)[0] for k in (resource.RLIMIT_DATA, resource.RLIMIT_CPU, "
            "resource.RLIMIT_FSIZE, resource.RLIMIT_CORE)])")
    out = subprocess.run([sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, check=True)
    mib = 1024 * 1024
    assert json.loads(out.stdout) == [1500 * mib, 77, 3 * mib, 0]
    assert resource.getrlimit(resource.RLIMIT_CPU)[0] != 77  # this process is untouched


def _bound(cmd: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"--bind": [], "--ro-bind": [], "--ro-bind-try": []}
    for i, arg in enumerate(cmd[:-2]):
        if arg in out:
            out[arg].append(cmd[i + 1])
    return out


def test_bwrap_command_exposes_only_what_grading_needs(tmp_path):
    work, sockets = tmp_path / "work", tmp_path / "sockets"
    work.mkdir()
    cmd = sandbox.bwrap_command(["/usr/bin/true"], workdir=str(work), sockets_dir=str(sockets),
                                limits=sandbox.Limits(threads=1))
    bound = _bound(cmd)
    assert bound["--bind"] == [str(sockets), str(work)]  # the only writable host folders
    for path in bound["--ro-bind"]:
        assert os.path.commonpath([path, str(REPO)]) != path, f"{path} would expose the whole course"
        assert not path.startswith(str(REPO / "notebooks")) and "gradebook" not in path
    assert str(REPO / "course_lib") in bound["--ro-bind"]
    assert {"--unshare-net", "--unshare-pid", "--unshare-user", "--clearenv", "--die-with-parent"} <= set(cmd)
    env = {cmd[i + 1]: cmd[i + 2] for i, a in enumerate(cmd) if a == "--setenv"}
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["OMP_NUM_THREADS"] == "1"
    assert "--unshare-net" not in sandbox.bwrap_command(["/usr/bin/true"], workdir=str(work),
                                                        sockets_dir=str(sockets), limits=sandbox.Limits(),
                                                        network=True)


def test_bwrap_command_refuses_to_expose_the_course_root(tmp_path, capsys):
    cmd = sandbox.bwrap_command(["/usr/bin/true"], workdir=str(REPO), sockets_dir=str(tmp_path),
                                limits=sandbox.Limits())
    assert str(REPO) not in _bound(cmd)["--bind"]
    assert "refusing to expose" in capsys.readouterr().err


def test_missing_bubblewrap_falls_back_loudly(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    sandbox.sandbox_status.cache_clear()
    try:
        status = sandbox.ensure_bubblewrap(install=False)
        assert not status.available and "bwrap not found" in status.reason
        assert "WITHOUT a sandbox" in capsys.readouterr().err
    finally:
        sandbox.sandbox_status.cache_clear()


def test_required_sandbox_refuses_to_start_a_kernel(tmp_path):
    conn = tmp_path / "kernel.json"
    conn.write_text(json.dumps({"transport": "ipc", "ip": str(tmp_path / "k"), "shell_port": 1}))
    env = {"PATH": str(tmp_path), "GRADER_SANDBOX": "required"}
    launcher = REPO / "grading" / "jupyter" / "kernels" / "course-grader" / "launch.py"
    done = subprocess.run([sys.executable, str(launcher), "-f", str(conn)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3 and "REQUIRED but unavailable" in done.stderr


# ------------------------------------------------------------------------------------------ executor helpers (fast)
def test_defined_names_sees_defs_classes_and_imports_only():
    src = "%matplotlib inline\nimport torch.nn as nn\nimport numpy\nfrom math import isclose as close, pi\n" \
          "def check(x):\n    y = 1\nclass Box:\n    pass\nvalue = 3\nfor i in range(2):\n    pass"
    assert defined_names(src) == ["nn", "numpy", "close", "pi", "check", "Box"]
    assert defined_names("this is not python (") == []


def test_forged_results_only_count_after_a_trailing_expression():
    assert _ends_with_expression("x = 1\nx + 1")
    assert not _ends_with_expression("assert f(1) == 2")
    assert not _ends_with_expression("x + 1;")


def test_safe_execute_is_configured_by_the_course_config():
    config = _load_config()
    ex = SafeExecute(config=config)
    assert ex.kernel_name == sandbox.KERNEL_NAME and ex.timeout == 120 and ex.interrupt_on_timeout
    assert ex.max_output_bytes == 1_000_000 and ex.guard


# ------------------------------------------------------------------------------------------ config (fast)
def test_config_pins_the_sandbox_kernel_and_hardened_pipeline():
    from jupyter_client.kernelspec import KernelSpecManager
    from nbgrader.preprocessors import ClearHiddenTests, IgnorePattern

    config = _load_config()
    assert config.Execute.kernel_name == sandbox.KERNEL_NAME
    assert config.KernelManager.transport == "ipc"
    assert config.Autograde.autograde_preprocessors[0] is SafeExecute
    assert IgnorePattern in config.Autograde.autograde_preprocessors and config.IgnorePattern.enabled
    assert config.OverwriteCells.add_missing_cells is True
    feedback = config.GenerateFeedback.preprocessors
    assert any(isinstance(p, type) and issubclass(p, ClearHiddenTests) for p in feedback)
    assert "db_url" not in config.CourseDirectory  # nbgrader's default: <root>/gradebook.db, absolute
    spec = KernelSpecManager().get_kernel_spec(sandbox.KERNEL_NAME)  # found through JUPYTER_PATH set by the config
    assert spec.interrupt_mode == "message" and spec.argv[-2:] == ["-f", "{connection_file}"]


def _formatted_warning(category, make) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make()
    assert caught, "the library no longer warns here"
    w = caught[0]
    assert issubclass(w.category, category)
    return warnings.formatwarning(w.message, w.category, w.filename, w.lineno, "line")


def test_ignore_pattern_drops_real_library_warnings_but_not_failures():
    import torch

    pattern = re.compile(_load_config().IgnorePattern.pattern)
    torch_copy = _formatted_warning(UserWarning, lambda: torch.tensor(torch.tensor([1, 2])))
    numpy_future = _formatted_warning(DeprecationWarning,
                                      lambda: warnings.warn("old API", DeprecationWarning, stacklevel=1))
    assert pattern.search(torch_copy) and pattern.search(numpy_future)
    assert pattern.search("epoch 3: 100%|##########| 10/10 [00:01<00:00,  9.12it/s]")
    for failure in ["Traceback (most recent call last):\nAssertionError: wrong", "RuntimeWarning: overflow in exp",
                    "UserWarning: my own message"]:
        assert not pattern.search(failure), failure


# ------------------------------------------------------------------------------------------ feedback, report (fast)
def test_feedback_drops_hidden_source_and_what_its_failure_printed():
    from nbgrader.preprocessors import ClearHiddenTests

    nb = nbformat.read(FIXTURE / "ps0.ipynb", as_version=4)
    cell = cell_by_id(nb, "test_accuracy")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="expected 0.6"),
                    nbformat.v4.new_output("error", ename="AssertionError", evalue="expected 0.6",
                                           traceback=["assert type(_got) is float and abs(_got - 0.6) < 1e-12"])]
    reference = ClearHiddenTests().preprocess_cell(nbformat.from_dict(cell), {}, 0)[0]
    ours = ClearHiddenTestsAndOutputs().preprocess_cell(nbformat.from_dict(cell), {}, 0)[0]
    assert ours.source == reference.source and "0.6" not in ours.source
    assert [(o.output_type, o.ename, o.evalue) for o in ours.outputs] == [("error", "AssertionError", HIDDEN_FAILURE)]
    visible = cell_by_id(nb, "test_softmax_visible")
    visible.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=["line"])]
    kept = ClearHiddenTestsAndOutputs().preprocess_cell(nbformat.from_dict(visible), {}, 0)[0]
    assert kept.outputs == visible.outputs  # a cell without hidden tests keeps its traceback


def test_scan_incidents_names_every_kind():
    cells = []
    for ename in ["KernelDied", "CellTimeoutError", "GraderIntegrityError", "MemoryError", "AssertionError"]:
        c = nbformat.v4.new_code_cell("x")
        c.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="why", traceback=[])]
        cells.append(c)
    flood = nbformat.v4.new_code_cell("print")
    flood.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n[grader: output truncated after 9]")]
    notes = scan_incidents(nbformat.v4.new_notebook(cells=[*cells, flood]))
    assert len(notes) == 5 and not any("AssertionError" in n for n in notes)
    assert notes[-1] == "cell 6: output truncated"


def test_failure_reason_names_the_real_exception():
    log = ("[AutogradeApp | ERROR] There was an error processing assignment\nTraceback (most recent call last):\n"
           "    json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n"
           "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{'\n")
    out = {"log": log, "error": "nbgrader.converters.base.NbGraderException: Please see the above traceback"}
    assert failure_reason(out).startswith("nbformat.reader.NotJSONError: Notebook does not appear to be JSON")
    assert failure_reason({"error": "timed out after 60 s (worker killed)"}) == "timed out after 60 s (worker killed)"


def test_submission_hash_tracks_content_and_names(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    first = submission_hash(tmp_path)
    (tmp_path / "a.ipynb").write_text("{ }")
    second = submission_hash(tmp_path)
    (tmp_path / "a.ipynb").rename(tmp_path / "b.ipynb")
    assert len({first, second, submission_hash(tmp_path)}) == 3


def test_parse_args_rejects_nonsense():
    with pytest.raises(SystemExit):
        parse_args(["--jobs", "0"])
    with pytest.raises(SystemExit):
        parse_args(["--timeout", "-5"])
    assert parse_args(["-a", "ps1", "-a", "ps2"]).assignment == ["ps1", "ps2"]


# ------------------------------------------------------------------------------------------ integrity (fast)
@pytest.fixture(scope="module")
def gradebook_template(tmp_path_factory):
    """One real nbgrader gradebook (creating one runs alembic: slow), copied for each test."""
    from nbgrader.api import Gradebook

    os.environ["PATH"] = VENV_BIN + os.pathsep + os.environ.get("PATH", "")
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("ps0")
        gb.add_notebook("ps0", "ps0")
        gb.add_grade_cell("t1", "ps0", "ps0", max_score=2, cell_type="code")
        gb.add_solution_cell("s1", "ps0", "ps0")
        gb.add_source_cell("t1", "ps0", "ps0", cell_type="code", source="assert f() == 42")
        for s in ("ann", "ben"):
            gb.add_student(s)
            gb.add_submission("ps0", s)
    return path


@pytest.fixture()
def gradebook(gradebook_template, tmp_path):
    path = tmp_path / "gradebook.db"
    shutil.copyfile(gradebook_template, path)
    return path, f"sqlite:///{path}"


def test_integrity_allows_autograde_columns_of_graded_submissions_only(gradebook):
    from nbgrader.api import Gradebook

    path, url = gradebook
    before = integrity.snapshot(path)
    with Gradebook(url) as gb:
        g = gb.find_grade("t1", "ps0", "ps0", "ann")
        g.auto_score, g.needs_manual_grade = 2.0, False
        gb.find_comment("s1", "ps0", "ps0", "ann").auto_comment = "No response."
        gb.db.commit()
    assert integrity.verify(before, integrity.snapshot(path), graded={("ps0", "ann")}) == []
    problems = integrity.verify(before, integrity.snapshot(path), graded={("ps0", "ben")})
    assert len(problems) == 3 and all("ann / ps0" in p for p in problems)


def test_integrity_catches_manual_scores_structure_and_strangers(gradebook):
    from nbgrader.api import Gradebook

    path, url = gradebook
    before = integrity.snapshot(path)
    with Gradebook(url) as gb:
        gb.find_grade("t1", "ps0", "ps0", "ann").manual_score = 1.0
        gb.find_source_cell("t1", "ps0", "ps0").source = "pass"
        gb.add_student("mallory")
        gb.db.commit()
    problems = integrity.verify(before, integrity.snapshot(path), graded={("ps0", "ann")})
    assert any("manual_score changed" in p for p in problems)
    assert any(p.startswith("source_cell") and "source changed" in p for p in problems)
    assert "student mallory: added by grading" in problems
    allowed = integrity.verify(before, integrity.snapshot(path), graded={("ps0", "ann")}, new_students={"mallory"})
    assert "student mallory: added by grading" not in allowed


def test_backup_and_restore_round_trip(gradebook, tmp_path):
    from nbgrader.api import Gradebook

    path, url = gradebook
    copy = integrity.backup(path, tmp_path / "backups")
    original = integrity.snapshot(path).tables
    with Gradebook(url) as gb:
        gb.add_student("mallory")
        gb.find_grade("t1", "ps0", "ps0", "ann").manual_score = 9.0
        gb.db.commit()
    assert integrity.snapshot(path).tables != original
    integrity.restore(copy, path)
    assert integrity.snapshot(path).tables == original


# ------------------------------------------------------------------------------------------ the sandboxed kernel (slow)
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sandboxed_kernel_is_isolated_and_limited(tmp_path, monkeypatch):
    from jupyter_client.manager import KernelManager

    status = sandbox.ensure_bubblewrap(install=True)
    if not status.available:
        pytest.skip(f"SANDBOX UNAVAILABLE: {status.reason}")
    monkeypatch.setenv("JUPYTER_PATH", str(sandbox.KERNELS_DIR))
    monkeypatch.setenv("GRADER_MEMORY_MB", "1536")
    monkeypatch.setenv("GRADER_CPU_SECONDS", "321")
    monkeypatch.setenv("GRADER_PROCESSES", "96")
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside.txt"
    repo_probe = REPO / "sandbox-probe.txt"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    outputs: list[dict] = []
    km = KernelManager(kernel_name=sandbox.KERNEL_NAME, transport="ipc")
    km.ip = str(Path(tempfile.mkdtemp(prefix="gk-")) / "k")
    km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        probe = textwrap.dedent(f"""
            import json, os, resource, socket
            import torch, course_lib
            out = {{"uid": os.getuid(), "cwd": os.getcwd(), "torch": torch.__version__,
                   "notebooks": os.path.exists({str(REPO / 'notebooks')!r}),
                   "config": os.path.exists({str(REPO / 'nbgrader_config.py')!r}),
                   "data": resource.getrlimit(resource.RLIMIT_DATA)[0], "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0]}}
            for name, target in {{"course_lib": {str(REPO / 'course_lib' / 'evil.py')!r}, "outside": {str(outside)!r},
                                 "repo": {str(repo_probe)!r}}}.items():
                try:
                    open(target, "w").write("x")
                    out[name] = "written"
                except OSError as err:
                    out[name] = type(err).__name__
            open("inside.txt", "w").write("ok")
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                out["net"] = "connected"
            except OSError as err:
                out["net"] = type(err).__name__
            import subprocess
            children, out["fork_error"] = [], ""
            try:  # a bounded fork bomb: at most 300 short sleeps, all reaped
                for _ in range(300):
                    children.append(subprocess.Popen(["sleep", "0.2"]))
            except OSError as err:
                out["fork_error"] = type(err).__name__
            for child in children:
                child.wait()
            out["forks"], out["nproc"] = len(children), resource.getrlimit(resource.RLIMIT_NPROC)[0]
            print(json.dumps(out))
            """)
        reply = kc.execute_interactive(probe, timeout=120, output_hook=lambda m: outputs.append(m))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        listener.close()
    assert reply["content"]["status"] == "ok", reply["content"]
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    got = json.loads(text.strip().splitlines()[-1])
    import torch

    assert got["uid"] != 0 and got["cwd"] == str(work) and got["torch"] == torch.__version__
    assert got["notebooks"] is False and got["config"] is False
    assert got["course_lib"] == "OSError"  # read-only
    # writes anywhere but the working folder land in the sandbox's private tmpfs (or fail): never on the host
    host_leaks = [p for p in (outside, repo_probe) if p.exists()]
    for leak in host_leaks:
        leak.unlink()
    assert host_leaks == [] and (work / "inside.txt").read_text() == "ok"
    assert got["net"] != "connected"
    assert got["data"] == 1536 * 1024 * 1024 and got["cpu"] == 321
    # the process cap binds whoever grades (root included: the kernel runs under its own unprivileged uid)
    assert got["nproc"] != resource.RLIM_INFINITY and got["forks"] < 300 and got["fork_error"] == "BlockingIOError", got


# ------------------------------------------------------------------------------------------ standard workflow (slow)
def _nb(course: Path, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd or course, capture_output=True,
                          text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_standard_instructor_workflow_and_formgrader(tmp_path):
    """generate_assignment -> release/fetch/submit/collect and zip_collect -> autograde -> feedback -> export,
    then the formgrader's API, all with the course's nbgrader_config.py."""
    from nbgrader.api import Gradebook

    course = new_course(tmp_path / "course", {"ps0": FIXTURE})
    exchange, student_home = tmp_path / "exchange", tmp_path / "student"
    exchange.mkdir()
    student_home.mkdir()
    ex = [f"--Exchange.root={exchange}", "--course=finetune-vision-metrics"]
    (course / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text()
                                               + f"c.Exchange.root = {str(exchange)!r}\n"
                                               "c.CourseDirectory.course_id = 'finetune-vision-metrics'\n")
    generate(course, "ps0")
    _nb(course, "release_assignment", "ps0", *ex)
    _nb(course, "fetch_assignment", "ps0", *ex, cwd=student_home)
    fetched = student_home / "ps0" / "ps0.ipynb"
    answers = solution_sources(course / "notebooks" / "ps0" / "ps0.ipynb")
    nbformat.write(solved(nbformat.read(fetched, as_version=4), answers, only=["accuracy", "softmax"]), fetched)
    _nb(course, "submit", "ps0", *ex, cwd=student_home)
    _nb(course, "collect", "ps0", *ex)
    me = os.environ.get("USER") or __import__("getpass").getuser()
    assert (course / "submitted" / me / "ps0" / "ps0.ipynb").exists()

    archive = course / "downloaded" / "ps0" / "archive"
    archive.mkdir(parents=True)
    bea = solved(release_notebooks(course, "ps0")["ps0"], answers)
    with zipfile.ZipFile(archive / "lms-download.zip", "w") as z:
        z.writestr("ps0_bea_attempt_2026-11-20-10-00-00_ps0.ipynb", nbformat.writes(bea))
    _nb(course, "zip_collect", "ps0",
        r"--FileNameCollectorPlugin.named_regexp=.*ps0_(?P<student_id>[a-z]+)_attempt_[0-9\-]+_(?P<file_id>\w+)")
    assert (course / "submitted" / "bea" / "ps0" / "ps0.ipynb").exists()

    _nb(course, "autograde", "ps0")  # one by one, with the sandboxed kernel
    _nb(course, "generate_feedback", "ps0")
    _nb(course, "export")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.assignment_submissions("ps0")}
    assert scores == {me: 4.0, "bea": 5.0}
    exported = (course / "grades.csv").read_text().splitlines()
    assert exported[0].startswith("assignment,") and len(exported) == 3
    page = (course / "feedback" / "bea" / "ps0" / "ps0.html").read_text()
    assert "accuracy" in page and "BEGIN HIDDEN TESTS" not in page and "1000.0, 1001.0" not in page

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "grading-test-token"
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
                               f"--port={port}", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False"],
                              cwd=course, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt")))
    try:
        deadline, body = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/formgrader/api/assignments",
                                             headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=10) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                time.sleep(1)
        assert body is not None, "the formgrader API did not answer"
        ps0 = next(a for a in body if a["name"] == "ps0")
        assert ps0["num_submissions"] == 2 and ps0["max_score"] == 5.0
        # the formgrader's "autograde" button: runs inside the server, with the sandboxed kernel and SafeExecute
        req = urllib.request.Request(f"http://127.0.0.1:{port}/formgrader/api/submission/ps0/bea/autograde",
                                     data=b"", method="POST", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=600) as response:
            result = json.loads(response.read())
        assert result["success"], result.get("error") or result.get("log")
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            assert gb.find_submission("ps0", "bea").score == 5.0
    finally:
        server.terminate()
        server.wait(timeout=30)
    shutil.rmtree(tmp_path / "rt", ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_killing_make_grade_leaves_no_worker_or_kernel_behind(tmp_path, how):
    """A stuck submission keeps a worker busy; stopping `make grade` (kill, a CI timeout, a closed terminal) must
    not leave the worker or its sandboxed kernel running on the instructor's machine."""
    import signal

    import psutil

    course = new_course(tmp_path / "course", {"ps0": FIXTURE})
    generate(course, "ps0")
    answers = solution_sources(course / "notebooks" / "ps0" / "ps0.ipynb")
    answers["accuracy"] = "def accuracy(y_true, y_pred):\n    while True:\n        pass"
    submit(course, "stuck", "ps0", {"ps0": solved(release_notebooks(course, "ps0")["ps0"], answers)})
    grade = subprocess.Popen([sys.executable, str(REPO / "grading" / "grade.py"), "--course-dir", str(course),
                              "--no-install", "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(grade.pid)
    family: list[psutil.Process] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait until the kernel runs the endless loop
        family = parent.children(recursive=True)
        if any("ipykernel" in " ".join(p.cmdline()) for p in family if p.is_running()):
            break
        time.sleep(0.5)
    else:
        grade.kill()
        pytest.fail("no grading kernel started within 300 s")
    family = parent.children(recursive=True)
    os.kill(grade.pid, getattr(signal, how))
    grade.wait(timeout=60)
    _, alive = psutil.wait_procs(family, timeout=30)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in alive:
        p.kill()
    assert not alive, f"left running after {how}: {[' '.join(p.cmdline())[:80] for p in alive]}"


# ------------------------------------------------------------------------------------------ warnings policy (fast)
def test_warnings_become_visible_notes_and_errors_still_fail():
    import numpy as np
    from nbgrader.utils import determine_grade

    from grading.nonfatal import NOTE_HEADER, WarningsToNotes

    nb = nbformat.read(FIXTURE / "ps0.ipynb", as_version=4)
    inside = _formatted_warning(RuntimeWarning, lambda: np.array([0.0]) / np.array([0.0]))  # a student's numpy
    cell = nbformat.from_dict(cell_by_id(nb, "test_accuracy"))
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=inside + "progress: not a warning\n")]
    assert determine_grade(cell)[0] == 0  # what nbgrader alone would give
    out = WarningsToNotes().preprocess_cell(cell, {}, 0)[0]
    assert determine_grade(out)[0] == 0  # stderr that is not a warning stays stderr (nbgrader's rule)
    note = next(o for o in out.outputs if o.name == "stdout")
    assert note.text.startswith(NOTE_HEADER) and "RuntimeWarning: invalid value encountered" in note.text
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=inside)]
    clean = WarningsToNotes().preprocess_cell(nbformat.from_dict(cell), {}, 0)[0]
    points = float(cell.metadata.nbgrader["points"])
    assert determine_grade(clean) == (points, points) and clean.outputs[0].name == "stdout"
    failed = nbformat.from_dict(cell)
    failed.outputs = [nbformat.v4.new_output("stream", name="stderr", text=inside),
                      nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=[])]
    assert determine_grade(WarningsToNotes().preprocess_cell(failed, {}, 0)[0])[0] == 0  # a failure still fails


def test_feedback_shows_messages_but_never_hidden_code():
    nb = nbformat.read(FIXTURE / "ps0.ipynb", as_version=4)
    cell = cell_by_id(nb, "test_accuracy")
    lines = cell.source.splitlines()
    visible = next(i for i, ln in enumerate(lines, 1) if "must return a Python float" in ln)
    hidden = next(i for i, ln in enumerate(lines, 1) if "different lengths must raise" in ln)
    for line, message, want in [(visible, "accuracy must return a Python float", "accuracy must return a Python float"),
                                (hidden, "different lengths must raise ValueError",
                                 "a hidden test failed: different lengths must raise ValueError")]:
        c = nbformat.from_dict(cell)
        c.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue=message,
                                            traceback=[f"\x1b[0;32mCell In[4], line {line}\x1b[0m", *lines,
                                                       f"AssertionError: {message}"])]
        out = ClearHiddenTestsAndOutputs().preprocess_cell(c, {}, 0)[0]
        assert [o.evalue for o in out.outputs] == [want]
        shown = str(out.outputs) + out.source
        assert "accuracy([1, 2, 3], [1, 2])" not in shown and "torch.tensor([2, 2, 1, 0, 2])" not in shown


# ------------------------------------------------------------------------------------------ exact types (fast)
def test_exact_helper_rejects_lookalikes_with_safe_messages():
    import numpy as np

    from course_lib.exact import of_type, same

    class AlwaysEqual(tuple):
        def __eq__(self, other):
            return True

        __hash__ = tuple.__hash__

    class LyingDict(dict):
        def __getitem__(self, key):
            return "recall"

    for got, want in [(AlwaysEqual((9.0, 9.0, 9.0)), (0.0, 0.0, 0.0)), ([0.0, 0.0], (0.0, 0.0)),
                      (np.float64(0.5), 0.5), (1, 1.0), (True, 1), (LyingDict(a="x"), {"a": "recall"})]:
        with pytest.raises(AssertionError, match="^the property: expected") as err:
            same(got, want, "the property")
        assert "recall" not in str(err.value) or isinstance(got, LyingDict) is False
    with pytest.raises(AssertionError, match="^the property$"):
        same((0.5, 0.25), (0.5, 0.75), "the property")  # a wrong value: the message only, never the expected value
    same({"tp": 2, "fn": 0.5}, {"tp": 2, "fn": 0.5 + 1e-15}, "close floats pass")
    assert of_type([1, "a"], [int, str], "x") == [1, "a"]


def test_graded_quiz_accepts_only_plain_str():
    from course_lib.quiz import check_answers, validate_answer_format

    class Liar(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

        def strip(self, *args):
            return self

        def upper(self):
            return self

    with pytest.raises(ValueError, match="plain str"):
        check_answers({"q1": Liar("A")}, {"q1": "C"})
    with pytest.raises(ValueError, match="plain str"):
        validate_answer_format({"q1": Liar("A")}, {"q1": "ABCD"})
    assert check_answers({"q1": " c"}, {"q1": "C"}) == 1.0
