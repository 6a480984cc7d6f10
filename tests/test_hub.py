"""A class on JupyterHub, end to end with real parts: `deploy/hub.py` (what `make hub` runs), JupyterHub, the npm
proxy, NativeAuthenticator, real OS users, nbgrader's real exchange, Debian's chromium, and `make grade`.

One test walks the whole term, in order: the hub starts on 127.0.0.1 with an instructor and two students (OS users
with a random course prefix, removed afterwards even on failure); the instructor releases lesson 01 through the
formgrader's API (the formgrader page answers through the hub, in its own tab, with the hub's CSP intact); student A
logs in in chromium, fetches it from the Assignments tab, answers one exercise, validates and submits; student B
submits a blank notebook and then tries everything a student must not be able to do; the instructor collects,
runs `make grade`, releases feedback; A fetches the feedback and sees the score. Then everything is stopped and
checked gone. Along the way it measures the hub's start time and one student's server + kernel memory and CPU while
lesson 01 (and lesson 02) run, into test-artifacts/hub_measurements.json (deploy/kubernetes/README.md uses them).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LESSON = "01_metrics"
#: Lessons whose Run All is measured for the capacity table (HUB_MEASURE_LESSONS=all for every lesson; each adds
#: its Run All time, about 10-50 s on an idle 2-core machine).
_wanted = os.environ.get("HUB_MEASURE_LESSONS", LESSON)
MEASURE_LESSONS = sorted(p.name for p in (ROOT / "notebooks").iterdir() if (p / f"{p.name}.ipynb").exists()) \
    if _wanted == "all" else [x for x in _wanted.split(",") if x]
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"  # util-linux; often outside a plain PATH

pytestmark = [pytest.mark.slow, pytest.mark.browser]

sys.path.insert(0, str(ROOT / "deploy"))
import hub as hub_script  # noqa: E402  (deploy/hub.py: what `make hub` runs)


def _missing() -> str:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "the hub test needs Linux and root (it creates OS users, as `make hub` does)"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (install Debian's chromium; `make test` does it as root)"
    if not hub_script.CHP.exists() or shutil.which("jupyterhub", path=str(hub_script.VENV / "bin")) is None:
        return "JupyterHub or its proxy is not installed: run `make hub-deps` (`make test` does)"
    return ""


if _missing():
    if IN_CI:
        raise RuntimeError(f"HUB TEST CANNOT RUN IN CI: {_missing()}")
    pytest.skip(f"HUB TEST SKIPPED: {_missing()}", allow_module_level=True)


# ------------------------------------------------------------------------------------------------ helpers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """The hub's REST API (and the users' servers behind it) with the course-admin service token."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, data: dict | None = None, form: dict | None = None, timeout: float = 300):
        body, headers = None, {"Authorization": f"token {self.token}"}
        if data is not None:
            body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
        if form is not None:
            body, headers["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, dict(r.headers), (json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode(errors="replace")

    def start_server(self, user: str, timeout: float = 180) -> None:
        status, _, body = self.call("POST", f"/hub/api/users/{user}/server")
        assert status in (201, 202, 400), (status, body)  # 400: already running
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, _, info = self.call("GET", f"/hub/api/users/{user}")
            server = info.get("servers", {}).get("", {}) if isinstance(info, dict) else {}
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"the server of {user} was not ready within {timeout} s")

    def formgrader(self, instructor: str, action: str) -> dict:
        status, _, body = self.call("POST", f"/user/{instructor}/formgrader/api/assignment/{LESSON}/{action}")
        assert status == 200 and isinstance(body, dict), (action, status, body)
        assert body.get("success"), f"formgrader {action} failed: {body.get('error', '')[-2000:]}\n{body.get('log', '')}"
        return body


def _user_procs(names: list[str]) -> list:
    import psutil

    uids = set()
    for n in names:
        with contextlib.suppress(KeyError):
            uids.add(pwd.getpwnam(n).pw_uid)
    return [p for p in psutil.process_iter(["uids", "cmdline"]) if p.info["uids"] and p.info["uids"].real in uids]


def _as_user(user: str, code: str, env: dict | None = None, timeout: float = 60) -> dict:
    """Run Python as the OS user ``user`` (what their own kernel or terminal could do); returns its JSON output."""
    home = pwd.getpwnam(user).pw_dir
    base = {"HOME": home, "USER": user, "PATH": f"{hub_script.VENV / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    res = subprocess.run([RUNUSER, "-u", user, "--", str(hub_script.VENV / "bin" / "python"), "-c", code],
                         env={**base, **(env or {})}, cwd=home, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"as {user}: {res.stderr[-2000:]}"
    return json.loads(res.stdout.strip().splitlines()[-1])


PROBE = r"""
import json, os, sys
targets = json.loads(sys.argv[1]) if len(sys.argv) > 1 else json.loads(os.environ["PROBE_TARGETS"])
out = {}
for label, (kind, path) in targets.items():
    try:
        if kind == "read":
            with open(path, "rb") as f:
                f.read(16)
        elif kind == "list":
            os.listdir(path)
        elif kind == "write":
            with open(path, "w") as f:
                f.write("intruder")
        out[label] = "ALLOWED"
    except OSError as e:
        out[label] = type(e).__name__
print(json.dumps(out))
"""


class Sampler:
    """Resident memory and CPU time of every process of one OS user (their server and its kernels)."""

    def __init__(self, user: str):
        self.uid = pwd.getpwnam(user).pw_uid
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> tuple[int, float]:
        import psutil

        rss, cpu = 0, 0.0
        for p in psutil.process_iter(["uids"]):
            if p.info["uids"] and p.info["uids"].real == self.uid:
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu += t.user + t.system + t.children_user + t.children_system
        return rss, cpu

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.snapshot()[0])
            self._stop.wait(0.2)

    def __enter__(self):
        self.rss0, self.cpu0 = self.snapshot()
        self.t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        rss, cpu = self.snapshot()
        self.wall = time.perf_counter() - self.t0
        self.cpu = cpu - self.cpu0
        self.peak_rss = max(self.peak_rss, rss)


@contextlib.contextmanager
def running_hub():
    """setup + start the hub in a fresh state folder; stop and remove everything afterwards, even on failure."""
    state = Path(tempfile.mkdtemp(prefix="course-hub-test-", dir="/tmp"))
    os.chmod(state, 0o755)  # students must reach the exchange and the shared data inside it
    prefix = f"t{secrets.token_hex(2)}-"
    roster = state / "roster.csv"
    roster.write_text("id,name,email\nann,Ann Lee,ann@example.org\nben,Ben Okafor,ben@example.org\n")
    modes_before = {str(p): stat.S_IMODE(os.stat(p).st_mode) for p in [ROOT, *ROOT.iterdir()] if not p.is_symlink()}
    proc, log = None, None
    users: list[str] = []
    try:
        conf = hub_script.setup(state, roster, "teach", prefix=prefix)
        users = [conf["instructor"], *(s["id"] for s in conf["students"])]
        with open(state / "hub" / "initial-passwords.csv") as f:
            passwords = {row["id"]: row["initial_password"] for row in csv.DictReader(f)}
        port = _free_port()
        cmd, env = hub_script.hub_command(state, port=port, hub_port=_free_port(), proxy_api_port=_free_port())
        log = open(state / "hub.log", "w")
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=state / "hub", stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        api = Api(f"http://127.0.0.1:{port}", conf["admin_token"])
        while True:
            with contextlib.suppress(OSError):
                if api.call("GET", "/hub/api/")[0] == 200:
                    break
            if proc.poll() is not None or time.perf_counter() - t0 > 120:
                raise RuntimeError(f"the hub did not start:\n{(state / 'hub.log').read_text()[-4000:]}")
            time.sleep(0.2)
        started = time.perf_counter() - t0
        yield {"state": state, "conf": conf, "api": api, "passwords": passwords, "start_s": started, "proc": proc}
    finally:
        try:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # the hub stops every user's server and the proxy itself
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            pid_file = state / "hub" / "jupyterhub-proxy.pid"
            if pid_file.exists():  # the proxy runs in its own session; never leave it behind
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            if log:
                log.close()
                if (state / "hub.log").exists():
                    ARTIFACTS.mkdir(exist_ok=True)
                    shutil.copy(state / "hub.log", ARTIFACTS / "hub.log")
        finally:
            hub_script.teardown(state)  # accounts (and any process of theirs), locked modes, the state folder
            for name in {*users, *(u.pw_name for u in pwd.getpwall() if u.pw_name.startswith(prefix))}:
                with contextlib.suppress(Exception):
                    hub_script.remove_user(name)
            for path, mode in modes_before.items():
                if os.path.exists(path) and stat.S_IMODE(os.stat(path).st_mode) != mode:
                    os.chmod(path, mode)
            shutil.rmtree(state, ignore_errors=True)


def _solution(cell_source: str) -> str:
    """The instructor's answer with nbgrader's solution markers dropped (what a student would type)."""
    return "\n".join(ln for ln in cell_source.splitlines() if "### BEGIN SOLUTION" not in ln
                     and "### END SOLUTION" not in ln)


def _answer(nb_path: Path) -> str:
    """The source of the count_outcomes solution cell in a student's notebook."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "count_outcomes")


def _open_lab(page, base: str, path: str) -> None:
    page.goto(f"{base}{path}?reset")  # reset: only this document open
    page.locator("#jp-main-statusbar").wait_for(timeout=180_000)
    if path.endswith(".ipynb"):  # a notebook: wait for its kernel
        page.locator("#jp-main-statusbar").get_by_text("Idle").wait_for(timeout=180_000)
    else:
        page.locator("li.lm-MenuBar-item", has_text="Nbgrader").wait_for(timeout=180_000)


def _run_all(page) -> None:
    page.locator("li.lm-MenuBar-item", has_text="Run").click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=300_000)
    page.locator("#jp-main-statusbar").get_by_text("Idle").wait_for(timeout=300_000)


def _nbgrader_menu(page) -> list[str]:
    _open_menu(page, "Nbgrader")
    items = page.locator(".lm-Menu:visible li.lm-Menu-item .lm-Menu-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    return [i.strip() for i in items if i.strip()]


def _open_menu(page, name: str, item: str | None = None):
    """Open a menu of the menu bar (retrying: a click that lands while the lab is still settling can be lost)."""
    for attempt in range(10):
        page.keyboard.press("Escape")
        page.locator("li.lm-MenuBar-item", has_text=name).click()
        entry = page.locator(".lm-Menu:visible li.lm-Menu-item", has_text=item) if item else \
            page.locator(".lm-Menu:visible li.lm-Menu-item").first
        try:
            entry.wait_for(timeout=3_000)
            return entry
        except Exception:
            if attempt == 9:
                raise
    return None


def _open_assignments(page) -> None:
    _open_menu(page, "Nbgrader", "Assignment List").click()


# ------------------------------------------------------------------------------------------------ the test
def test_a_class_on_the_hub_end_to_end(tmp_path):
    import nbformat
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    source = nbformat.read(ROOT / "notebooks" / LESSON / f"{LESSON}.ipynb", as_version=4)
    answer_cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "count_outcomes")
    # A answers count_outcomes only: what that should score, from the lesson's own metadata
    expected_a = sum(c.metadata["nbgrader"]["points"] for c in source.cells
                     if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")
                     and c.metadata["nbgrader"]["grade_id"].startswith("count_outcomes"))
    assert expected_a > 0
    timings: dict[str, float] = {}
    measures: dict = {}
    t_test = time.perf_counter()
    with running_hub() as h:
        api, conf, state = h["api"], h["conf"], h["state"]
        timings["hub_start_s"] = round(h["start_s"], 2)
        teach = conf["instructor"]
        ann, ben = (s["id"] for s in conf["students"])
        exchange = Path(conf["exchange"]) / conf["course_id"]
        course = Path(conf["course_dir"])
        users = [teach, ann, ben]

        # -------- the instructor: server, formgrader through the hub (own tab), release lesson 01
        t = time.perf_counter()
        api.start_server(teach)
        timings["instructor_server_start_s"] = round(time.perf_counter() - t, 2)
        status, headers, page_html = api.call("GET", f"/user/{teach}/formgrader/manage_assignments")
        assert status == 200 and "Manage Assignments" in page_html, (status, page_html[:500])
        csp = {k.lower(): v for k, v in headers.items()}.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, f"the hub's CSP was weakened: {csp!r}"
        api.formgrader(teach, "assign")
        api.formgrader(teach, "release")
        assert (exchange / "outbound" / LESSON / f"{LESSON}.ipynb").exists()
        released = nbformat.read(exchange / "outbound" / LESSON / f"{LESSON}.ipynb", as_version=4)
        assert "BEGIN SOLUTION" not in json.dumps(released) and "HIDDEN TESTS" not in json.dumps(released)

        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
                viewport={"width": 1400, "height": 1000},
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = ctx.new_page()
            page.set_default_timeout(120_000)
            try:
                # -------- student A logs in (NativeAuthenticator), the hub starts A's server as A
                t = time.perf_counter()
                page.goto(f"{api.base}/hub/login")
                page.locator("#username_input").fill(ann)
                page.locator("#password_input").fill(h["passwords"][ann])
                page.locator("#login_submit").click()
                page.wait_for_url(re.compile(rf"/user/{re.escape(ann)}/lab"), timeout=180_000)
                page.locator("#jp-main-statusbar").wait_for(timeout=180_000)
                timings["student_login_to_lab_s"] = round(time.perf_counter() - t, 2)
                server_uids = {p.info["uids"].real for p in _user_procs([ann])
                               if "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or [])}
                assert server_uids == {pwd.getpwnam(ann).pw_uid}, "A's server does not run as A"
                # the learner view: Assignments and Validate, no instructor panels
                menu = _nbgrader_menu(page)
                assert "Assignment List" in menu, menu
                assert not {"Formgrader", "Formgrader (local)", "Course List", "Create assignment"} & set(menu), menu
                page.screenshot(path=str(ARTIFACTS / "hub_student_lab.png"))
                assert api.call("GET", f"/user/{ann}/formgrader")[0] == 404  # nor the formgrader's server side

                # -------- A fetches lesson 01 from the Assignments tab
                _open_assignments(page)
                released_list = page.locator("#released_assignments_list")
                released_list.get_by_text(LESSON).wait_for()
                released_list.get_by_role("button", name="Fetch").click()
                page.locator("#fetched_assignments_list").get_by_text(LESSON).first.wait_for()
                page.screenshot(path=str(ARTIFACTS / "hub_assignments_fetched.png"))
                fetched = Path(pwd.getpwnam(ann).pw_dir) / LESSON / f"{LESSON}.ipynb"
                assert fetched.exists()

                # -------- A answers count_outcomes, saves, validates
                _open_lab(page, api.base, f"/user/{ann}/lab/tree/{LESSON}/{LESSON}.ipynb")
                cell = page.locator(".jp-Notebook .jp-CodeCell", has_text="def count_outcomes(y_true").first
                cell.scroll_into_view_if_needed()
                cell.locator(".cm-content").click()
                page.keyboard.press("Control+A")
                page.keyboard.insert_text(_solution(answer_cell.source))
                page.keyboard.press("Control+S")
                page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=60_000)
                deadline = time.time() + 30
                while "NotImplementedError" in _answer(fetched) and time.time() < deadline:
                    time.sleep(0.5)
                assert "NotImplementedError" not in _answer(fetched), _answer(fetched)
                t = time.perf_counter()
                page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
                dialog = page.locator(".jp-Dialog")
                dialog.wait_for(timeout=300_000)
                page.wait_for_function(
                    "() => { const d = document.querySelector('.jp-Dialog'); return d && !/Validating/i.test(d.innerText); }",
                    timeout=300_000)
                timings["validate_s"] = round(time.perf_counter() - t, 2)
                validation = dialog.inner_text()
                page.screenshot(path=str(ARTIFACTS / "hub_validate.png"))
                # the other exercises are still blank, so validation must say that something fails
                assert re.search(r"fail|error", validation, re.I), validation
                page.keyboard.press("Escape")

                # -------- A submits from the Assignments tab
                _open_lab(page, api.base, f"/user/{ann}/lab")
                _open_assignments(page)
                fetched_list = page.locator("#fetched_assignments_list")
                fetched_list.get_by_text(LESSON).first.wait_for()
                fetched_list.get_by_role("button", name="Submit").first.click()
                page.locator("#submitted_assignments_list").get_by_text(LESSON).first.wait_for(timeout=120_000)
                page.screenshot(path=str(ARTIFACTS / "hub_submitted.png"))
                ann_subs = [d for d in (exchange / "inbound").iterdir() if d.name.startswith(f"{ann}+{LESSON}+")]
                assert len(ann_subs) == 1
                assert "NotImplementedError" not in _answer(ann_subs[0] / f"{LESSON}.ipynb")

                # -------- B: a blank submission through B's own server (nbgrader's assignment-list API)
                api.start_server(ben)
                for action in ("fetch", "submit"):
                    status, _, body = api.call("POST", f"/user/{ben}/assignments/{action}",
                                               form={"course_id": conf["course_id"], "assignment_id": LESSON})
                    assert status == 200 and body.get("success"), (action, status, body)
                ben_subs = [d for d in (exchange / "inbound").iterdir() if d.name.startswith(f"{ben}+{LESSON}+")]
                assert len(ben_subs) == 1

                # -------- isolation: what B must not be able to do (B's own account, as B's kernel would)
                probes = {
                    "instructor source notebook": ("read", str(course / "notebooks" / LESSON / f"{LESSON}.ipynb")),
                    "instructor course dir": ("list", str(course)),
                    "gradebook": ("read", str(course / "gradebook.db")),
                    "graded quiz key (course)": ("read", str(course / "grading" / "quizzes" / "mastery_graded.yaml")),
                    "graded quiz key (checkout)": ("read", str(ROOT / "grading" / "quizzes" / "mastery_graded.yaml")),
                    "solutions in the checkout": ("read", str(ROOT / "notebooks" / LESSON / f"{LESSON}.ipynb")),
                    "checkout's git objects": ("list", str(ROOT / ".git")),
                    "A's home": ("list", pwd.getpwnam(ann).pw_dir),
                    "A's notebook": ("read", str(fetched)),
                    "inbound listing": ("list", str(exchange / "inbound")),
                    "release another lesson": ("write", str(exchange / "outbound" / LESSON / "intruder.txt")),
                }
                denied = _as_user(ben, PROBE, env={"PROBE_TARGETS": json.dumps(probes)})
                # nbgrader's exchange: A's submission is hidden only by its unguessable name; with the name leaked,
                # B can read it and add files to it (folder mode 777). Recorded; the collect below refuses tampering.
                leaked = _as_user(ben, PROBE, env={"PROBE_TARGETS": json.dumps({
                    "read A's submission by its exact name": ("read", str(ann_subs[0] / f"{LESSON}.ipynb")),
                    "write into A's submission by its exact name": ("write", str(ann_subs[0] / "intruder.txt")),
                })})
                measures["isolation_denied"] = denied
                measures["exchange_with_leaked_name"] = leaked
                assert all(v != "ALLOWED" for v in denied.values()), denied
                with contextlib.suppress(FileNotFoundError):
                    (ann_subs[0] / "intruder.txt").unlink()  # undo the leaked-name write (root cleans up)
                # B forges a newer submission in A's name: nbgrader's inbound (2733) lets B create it ...
                forged = exchange / "inbound" / f"{ann}+{LESSON}+2999-01-01 00:00:00.000000 UTC+forged"
                forge = _as_user(ben, r"""
import json, os, shutil, sys
dst = os.environ["FORGED"]
shutil.copytree(os.environ["BLANK"], dst)
open(os.path.join(dst, "timestamp.txt"), "w").write("2999-01-01 00:00:00.000000 UTC")
print(json.dumps({"forged": os.path.isdir(dst)}))
""", env={"FORGED": str(forged), "BLANK": str(Path(pwd.getpwnam(ben).pw_dir) / LESSON)})
                measures["forged_submission_created"] = forge["forged"]
                assert forge["forged"], "nbgrader's exchange changed: B could not create a folder in inbound"

                # -------- the instructor collects (owner-checked), runs `make grade`, releases feedback
                collect = api.formgrader(teach, "collect")
                assert "forged" in collect.get("log", ""), collect.get("log")
                submitted = course / "submitted"
                assert sorted(p.name for p in submitted.iterdir()) == sorted([ann, ben])
                assert "NotImplementedError" not in _answer(submitted / ann / LESSON / f"{LESSON}.ipynb"), \
                    "the forged blank submission was collected as A's"
                t = time.perf_counter()
                home = pwd.getpwnam(teach).pw_dir
                grade_env = {"HOME": home, "USER": teach, "PATH": f"{hub_script.VENV / 'bin'}:/usr/bin:/bin",
                             "LANG": "C.UTF-8", "JUPYTER_CONFIG_PATH": str(state / "etc" / "instructor"),
                             "NBGRADER_COURSE_ID": conf["course_id"], "NBGRADER_EXCHANGE_ROOT": conf["exchange"],
                             "COURSE_LIB_CACHE": conf["cache"]}
                res = subprocess.run([RUNUSER, "-u", teach, "--", "make", "-C", str(course), "grade",
                                      f"ASSIGNMENT={LESSON}"], env=grade_env, cwd=home, capture_output=True,
                                     text=True, timeout=900)
                timings["make_grade_s"] = round(time.perf_counter() - t, 2)
                (ARTIFACTS / "hub_make_grade.log").write_text(res.stdout + res.stderr)
                if (course / ".grading" / "logs").is_dir():
                    shutil.copytree(course / ".grading" / "logs", ARTIFACTS / "hub_grading_logs", dirs_exist_ok=True)
                assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
                with Gradebook(f"sqlite:///{course / 'gradebook.db'}", conf["course_id"]) as gb:
                    scores = {s: gb.find_submission(LESSON, s).score for s in (ann, ben)}
                    max_score = gb.find_assignment(LESSON).max_score
                measures["scores"] = {**scores, "max": max_score}
                assert scores == {ann: expected_a, ben: 0}, scores
                assert (course / "grades.csv").exists()
                api.formgrader(teach, "release_feedback")
                feedback_probe = _as_user(ben, PROBE, env={"PROBE_TARGETS": json.dumps({
                    "list all feedback": ("list", str(exchange / "feedback"))})})
                measures["isolation_denied"].update(feedback_probe)
                assert feedback_probe["list all feedback"] == "PermissionError", feedback_probe

                # -------- A fetches the feedback in the Assignments tab and reads the score
                _open_lab(page, api.base, f"/user/{ann}/lab")
                _open_assignments(page)
                submitted_list = page.locator("#submitted_assignments_list")
                submitted_list.get_by_role("button", name="Fetch Feedback").first.click()
                feedback_dir = Path(pwd.getpwnam(ann).pw_dir) / LESSON / "feedback"
                deadline = time.time() + 60
                while not list(feedback_dir.glob(f"*/{LESSON}.html")) and time.time() < deadline:
                    time.sleep(0.5)
                html = next(feedback_dir.glob(f"*/{LESSON}.html"))
                rel = html.relative_to(pwd.getpwnam(ann).pw_dir)
                page.goto(f"{api.base}/user/{ann}/files/{urllib.parse.quote(str(rel))}")
                score_text = f"Score: {float(expected_a)} / {float(max_score)}"
                page.get_by_text(score_text).first.wait_for()
                page.screenshot(path=str(ARTIFACTS / "hub_feedback.png"))
                assert "BEGIN HIDDEN TESTS" not in html.read_text()

                # -------- capacity: one student's server + kernel running whole lessons (answered copies)
                runs = {}
                for lesson in MEASURE_LESSONS:
                    _, _, kernels = api.call("GET", f"/user/{ann}/api/kernels")
                    for k in kernels:  # one server + one kernel: stop the kernels of earlier notebooks
                        api.call("DELETE", f"/user/{ann}/api/kernels/{k['id']}")
                    copy = Path(pwd.getpwnam(ann).pw_dir) / f"measure_{lesson}.ipynb"
                    shutil.copy(ROOT / "notebooks" / lesson / f"{lesson}.ipynb", copy)
                    shutil.chown(copy, ann, ann)
                    _open_lab(page, api.base, f"/user/{ann}/lab/tree/{copy.name}")
                    with Sampler(ann) as s:
                        _run_all(page)
                    runs[lesson] = {"peak_rss_mb": round(s.peak_rss / 2**20), "cpu_s": round(s.cpu, 1),
                                    "load_average_1min": round(os.getloadavg()[0], 1),
                                    "wall_s": round(s.wall, 1), "mean_cores": round(s.cpu / s.wall, 2),
                                    "rss_before_mb": round(s.rss0 / 2**20)}
                    page.screenshot(path=str(ARTIFACTS / f"hub_measure_{lesson}.png"))
                measures["student_runs"] = runs
                culler = [p for p in _user_procs(["root"]) if "jupyterhub_idle_culler" in " ".join(p.info["cmdline"] or [])]
                measures["idle_culler_running"] = bool(culler)
                assert culler, "the idle culler service is not running"
            finally:
                ctx.close()
    # -------- everything stopped and removed
    left = _user_procs(users)
    assert not left, [p.info["cmdline"] for p in left]
    import psutil

    stray = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
             if any(str(state) in part for part in (p.info["cmdline"] or []))]
    assert not stray, stray
    for name in users:
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
    assert not state.exists()
    assert stat.S_IMODE(os.stat(ROOT / "notebooks").st_mode) & 0o005, "the checkout was left locked"
    timings["test_wall_s"] = round(time.perf_counter() - t_test, 1)
    (ARTIFACTS / "hub_measurements.json").write_text(json.dumps({"timings": timings, **measures}, indent=1))
    print(json.dumps({"timings": timings, **measures}, indent=1))
