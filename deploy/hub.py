"""`make hub`: set up and start a JupyterHub for a class on this machine (Linux, as root).

Usage (from the repository root; `make hub` runs the first two lines)::

    .venv/bin/python deploy/hub.py setup --roster deploy/roster.csv --instructor instructor
    .venv/bin/python deploy/hub.py start --port 8000
    .venv/bin/python deploy/hub.py teardown          # `make hub-stop`: remove the accounts and the hub's state

What ``setup`` does (idempotent; details in docs/instructors.md, "Teaching a class on JupyterHub"):

1. One OS user per student of the roster (CSV: ``id,name,email``) and one for the instructor, each with a private
   home (mode 700). Initial passwords go to ``<state>/hub/initial-passwords.csv`` (root only) for you to hand out;
   only their bcrypt hashes reach the hub (NativeAuthenticator's table), and users change them at
   ``/hub/change-password``.
2. The nbgrader exchange ``<state>/exchange`` (mode 777, as nbgrader's docs require: the instructor's release makes
   the course's ``outbound`` world-readable and ``inbound`` write-only for students).
3. The instructor's course directory ``~instructor/<course_id>`` (owned by the instructor alone, mode 700): the
   lessons' sources, ``grading/``, ``nbgrader_config.py`` and the Makefile, so ``make grade`` works there; the course's
   environment (the checkout's ``.venv``) is shared read-only by everyone (that Makefile points at it).
4. The datasets already built on this machine, shared read-only (``$COURSE_LIB_CACHE`` of every server).
5. The checkout is locked: other users may use ``.venv``, ``course_lib`` and ``quizzes`` (practice banks) and
   nothing else - not ``notebooks/`` (solutions, hidden tests), ``grading/`` (the graded-quiz key), ``.git`` or a
   local gradebook. ``teardown`` restores the previous modes.

Examples
--------
>>> course_id_from(ROOT / "nbgrader_config.py")
'finetune-vision-metrics'
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
VENV = ROOT / ".venv"
CHP = DEPLOY / ".build" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
#: What other users may read in the checkout (the shared environment and what the lessons import at run time).
SHARED_IN_CHECKOUT = (".venv", "course_lib", "quizzes")
#: What the instructor's course directory gets from the checkout.
COURSE_FILES = ("notebooks", "grading", "nbgrader_config.py", "Makefile", "requirements.txt", "pyproject.toml")
USERNAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def course_id_from(config: Path) -> str:
    """The ``c.CourseDirectory.course_id`` written in an nbgrader config file."""
    m = re.search(r"""^c\.CourseDirectory\.course_id\s*=\s*["']([^"']+)["']""", config.read_text(), re.M)
    if not m:
        raise ValueError(f"{config} sets no c.CourseDirectory.course_id; add one (e.g. 'my-course')")
    return m.group(1)


COURSE_ID = course_id_from(ROOT / "nbgrader_config.py")
DEFAULT_STATE = Path("/srv") / COURSE_ID


@dataclasses.dataclass(frozen=True)
class Person:
    """One roster line: ``id`` (the login and nbgrader student id), ``name``, ``email``."""

    id: str
    name: str = ""
    email: str = ""


def read_roster(path: Path, prefix: str = "") -> list[Person]:
    """Students of a roster CSV with the header ``id,name,email``; ``prefix`` is put before every id.

    >>> import tempfile; f = Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = f.write_text("id,name,email\\nann,Ann Lee,ann@example.org\\n")
    >>> read_roster(f, prefix="t1-")
    [Person(id='t1-ann', name='Ann Lee', email='ann@example.org')]
    """
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} lists no students: write a header 'id,name,email' and one line per student")
    missing = {"id", "name", "email"} - set(rows[0])
    if missing:
        raise ValueError(f"{path} lacks the column(s) {sorted(missing)}: the header must be 'id,name,email'")
    people, seen = [], set()
    for n, row in enumerate(rows, start=2):
        pid = prefix + (row["id"] or "").strip().lower()
        if not USERNAME.match(pid):
            raise ValueError(f"{path}, line {n}: id {pid!r} is not a valid login (lower-case letter first, then "
                             "letters, digits, '-' or '_', at most 32 characters)")
        if pid in seen:
            raise ValueError(f"{path}, line {n}: id {pid!r} appears twice")
        seen.add(pid)
        people.append(Person(pid, (row["name"] or "").strip(), (row["email"] or "").strip()))
    return people


# ------------------------------------------------------------------------------------------------ helpers
def _need_root() -> None:
    if os.geteuid() != 0:
        raise SystemExit("make hub must run as root (it creates one OS user per student and starts their servers "
                         "as those users): run it with sudo")


def _mkdir(path: Path, mode: int, owner: str | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    if owner:
        shutil.chown(path, owner, owner)
    return path


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def create_user(person: Person) -> bool:
    """A locked OS account (no password: logins go through the hub) with a private home; False if it existed."""
    created = False
    if not user_exists(person.id):
        comment = re.sub(r"[:,\n]", " ", person.name or person.id)
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", comment,
                        person.id], check=True, capture_output=True, text=True)
        created = True
    home = Path(pwd.getpwnam(person.id).pw_dir)
    os.chmod(home, 0o700)
    return created


def remove_user(name: str) -> None:
    """Stop every process of ``name`` (by PID), then delete the account and its home."""
    import psutil

    if not user_exists(name):
        return
    uid = pwd.getpwnam(name).pw_uid
    for _ in range(3):
        procs = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
        if not procs:
            break
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=5)
    subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)


def lock_checkout(root: Path = ROOT, shared: tuple[str, ...] = SHARED_IN_CHECKOUT) -> dict[str, int]:
    """Let other users traverse the checkout and read only ``shared``; returns the previous modes (for unlock)."""
    before = {str(root): stat.S_IMODE(os.stat(root).st_mode)}
    os.chmod(root, 0o711)
    for entry in root.iterdir():
        if entry.name in shared or entry.is_symlink():
            continue
        mode = stat.S_IMODE(os.lstat(entry).st_mode)
        before[str(entry)] = mode
        os.chmod(entry, mode & 0o700)
    return before


def open_interpreter_path() -> dict[str, int]:
    """Let other users *enter* (not list) the folders above the course environment's base Python.

    A Python built under /root (pyenv) is otherwise unusable by the students' servers. Returns the previous modes
    (``teardown`` restores them). A real class machine should install Python system-wide (e.g. /usr/bin/python3.12)
    and then this changes nothing.
    """
    before: dict[str, int] = {}
    for top in {os.path.realpath(sys.base_prefix), os.path.realpath(VENV)}:
        for folder in [Path(top), *Path(top).parents]:
            mode = stat.S_IMODE(os.stat(folder).st_mode)
            if not mode & 0o001:
                before[str(folder)] = mode
                os.chmod(folder, mode | 0o001)
                print(f"!! {folder} was closed to other users: made it enterable (o+x) so that students can run the "
                      f"course's Python ({sys.base_prefix}); install Python system-wide to avoid this", flush=True)
    return before


def unlock_checkout(before: dict[str, int]) -> None:
    for path, mode in before.items():
        if os.path.exists(path):
            os.chmod(path, mode)


def _hash(password: str) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def _copy_course(dest: Path, owner: str) -> None:
    """The instructor's course directory: files missing there are copied from the checkout (never overwritten)."""
    for name in COURSE_FILES:
        src = ROOT / name
        if src.is_dir():
            for f in src.rglob("*"):
                rel = f.relative_to(ROOT)
                if f.is_file() and "__pycache__" not in rel.parts and ".ipynb_checkpoints" not in rel.parts \
                        and not (dest / rel).exists():
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, dest / rel)
        elif src.is_file() and not (dest / name).exists():
            shutil.copy2(src, dest / name)
    # `make grade` there runs the shared, read-only course environment (by its real path: the grading sandbox
    # exposes real paths only, so a .venv link into it would leave the sandboxed kernel without a Python)
    makefile = dest / "Makefile"
    makefile.write_text(re.sub(r"^VENV\s*:=.*$", f"VENV   := {VENV}", makefile.read_text(), count=1, flags=re.M))
    # `make grade` needs no setup there: the environment is built (its stamp is newer than these two files)
    stamp = VENV / ".installed"
    if stamp.exists():
        t = stamp.stat().st_mtime - 1
        for name in ("requirements.txt", "pyproject.toml"):
            os.utime(dest / name, (t, t))
    subprocess.run(["chown", "-R", "--no-dereference", f"{owner}:{owner}", str(dest)], check=True)
    os.chmod(dest, 0o700)


def _add_students_to_gradebook(course: Path, owner: str, students: list[Person]) -> None:
    from nbgrader.api import Gradebook

    db = course / "gradebook.db"
    with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
        for s in students:
            first, _, last = s.name.partition(" ")
            gb.update_or_create_student(s.id, first_name=first or None, last_name=last or None,
                                        email=s.email or None)
    shutil.chown(db, owner, owner)
    os.chmod(db, 0o600)


def _install_configs(state: Path) -> None:
    etc = _mkdir(state / "etc", 0o755)
    for name, src in (("student", DEPLOY / "jupyter" / "student"), ("learner", ROOT / "scripts" / "jupyter" / "learner"),
                      ("instructor", DEPLOY / "jupyter" / "instructor")):
        if (etc / name).exists():
            shutil.rmtree(etc / name)
        shutil.copytree(src, etc / name, ignore=shutil.ignore_patterns("__pycache__"))
        for p in [etc / name, *(etc / name).rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)


def _share_datasets(state: Path) -> Path:
    cache = _mkdir(state / "cache" / "course_lib" / "data", 0o755)
    os.chmod(state / "cache", 0o755)
    os.chmod(state / "cache" / "course_lib", 0o755)
    from course_lib.data.cache import cache_dir

    if cache_dir().is_dir():
        for f in cache_dir().glob("*.pt"):
            if not (cache / f.name).exists():
                shutil.copy2(f, cache / f.name)
            os.chmod(cache / f.name, 0o644)
    return cache.parent


# ------------------------------------------------------------------------------------------------ commands
def setup(state: Path, roster: Path, instructor: str, prefix: str = "", lock: bool = True) -> dict:
    """Accounts, exchange, course directory, shared data and configs; writes ``<state>/hub/hub.json``."""
    _need_root()
    os.environ["PATH"] = f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader runs `alembic`
    if not CHP.exists():
        raise SystemExit(f"the proxy is missing ({CHP}): run `make hub` (it installs it with npm)")
    students = read_roster(roster, prefix)
    teacher = Person(prefix + instructor, "Instructor")
    if not USERNAME.match(teacher.id):
        raise ValueError(f"instructor id {teacher.id!r} is not a valid login (lower-case letters, digits, '-', '_')")
    if teacher.id in {s.id for s in students}:
        raise ValueError(f"the instructor {teacher.id!r} is also listed as a student in {roster}")
    _mkdir(state, 0o755)
    private = _mkdir(state / "hub", 0o700)
    conf_file = private / "hub.json"
    old = json.loads(conf_file.read_text()) if conf_file.exists() else {}
    exchange = _mkdir(state / "exchange", 0o777)
    created = list(old.get("created_users", []))
    passwords_file = private / "initial-passwords.csv"
    accounts = json.loads((private / "accounts.json").read_text()) if (private / "accounts.json").exists() else {}
    new_passwords = []
    for person in [teacher, *students]:
        if create_user(person) and person.id not in created:
            created.append(person.id)
        if person.id not in accounts:
            password = secrets.token_urlsafe(12)
            accounts[person.id] = _hash(password)
            new_passwords.append((person.id, password))
    conf_file.write_text(json.dumps({**old, "created_users": created}, indent=1))  # teardown knows them even if
    os.chmod(conf_file, 0o600)                                                      # a later step fails
    (private / "accounts.json").write_text(json.dumps(accounts, indent=1))
    os.chmod(private / "accounts.json", 0o600)
    if new_passwords:
        fresh = not passwords_file.exists()
        with open(passwords_file, "a", newline="") as f:
            w = csv.writer(f)
            if fresh:
                w.writerow(["id", "initial_password"])
            w.writerows(new_passwords)
        os.chmod(passwords_file, 0o600)
    home = Path(pwd.getpwnam(teacher.id).pw_dir)
    course = home / COURSE_ID
    course.mkdir(exist_ok=True)
    _copy_course(course, teacher.id)
    _add_students_to_gradebook(course, teacher.id, students)
    cache = _share_datasets(state)
    _install_configs(state)
    sys.path.insert(0, str(ROOT / "scripts"))
    import lab  # the course's JupyterLab settings (no news or update checks offline)

    lab.install_settings()
    locked = old.get("locked") or {**open_interpreter_path(), **(lock_checkout() if lock else {})}
    conf = {**old, "course_id": COURSE_ID, "state": str(state), "exchange": str(exchange), "cache": str(cache),
            "instructor": teacher.id, "course_dir": str(course), "students": [dataclasses.asdict(s) for s in students],
            "created_users": created, "locked": locked, "venv": str(VENV), "chp": str(CHP),
            "accounts": str(private / "accounts.json")}
    conf.setdefault("admin_token", secrets.token_hex(32))
    conf_file.write_text(json.dumps(conf, indent=1))
    os.chmod(conf_file, 0o600)
    print(f">> hub state in {state}: {len(students)} student(s), instructor {teacher.id}, course dir {course}")
    if new_passwords:
        print(f">> initial passwords of new accounts: {passwords_file} (root only; hand them out, then delete it)")
    return conf


def hub_command(state: Path, ip: str = "127.0.0.1", port: int = 8000, hub_port: int = 8081,
                proxy_api_port: int = 8001, cull_timeout: int = 3600) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start the hub (``start`` runs it; the tests run it too)."""
    conf_file = state / "hub" / "hub.json"
    if not conf_file.exists():
        raise SystemExit(f"{conf_file} is missing: run `deploy/hub.py setup` (or `make hub`) first")
    conf = json.loads(conf_file.read_text())
    conf.update(ip=ip, port=port, hub_port=hub_port, proxy_api_port=proxy_api_port, cull_timeout=cull_timeout)
    conf_file.write_text(json.dumps(conf, indent=1))
    env = {**os.environ, "COURSE_HUB_CONFIG": str(conf_file), "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}"}
    return [str(VENV / "bin" / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")], env


def start(state: Path, **ports) -> None:
    _need_root()
    cmd, env = hub_command(state, **ports)
    conf = json.loads((state / "hub" / "hub.json").read_text())
    print("=" * 78)
    print(f"  JupyterHub for {COURSE_ID}: http://{conf['ip']}:{conf['port']}/  (stop with Ctrl-C)")
    print(f"  Instructor: {conf['instructor']}; formgrader in its own tab: /user/{conf['instructor']}/formgrader")
    print("=" * 78, flush=True)
    os.chdir(state / "hub")
    os.execve(cmd[0], cmd, env)


def teardown(state: Path) -> None:
    """Remove the accounts ``setup`` created (and their processes), unlock the checkout, delete the state."""
    _need_root()
    conf_file = state / "hub" / "hub.json"
    if not conf_file.exists():
        print(f"nothing to remove: {conf_file} does not exist")
        return
    conf = json.loads(conf_file.read_text())
    for name in conf.get("created_users", []):
        remove_user(name)
    unlock_checkout(conf.get("locked", {}))
    shutil.rmtree(state, ignore_errors=True)
    print(f">> removed {len(conf.get('created_users', []))} account(s) and {state}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup", help="accounts, exchange, course directory (idempotent)")
    s.add_argument("--roster", type=Path, default=DEPLOY / "roster.csv")
    s.add_argument("--instructor", default="instructor")
    s.add_argument("--prefix", default="", help="put before every login (e.g. a course code)")
    s.add_argument("--no-lock", action="store_true", help="leave the checkout readable by other users")
    st = sub.add_parser("start", help="start the hub (foreground)")
    st.add_argument("--ip", default="127.0.0.1", help="0.0.0.0 to serve the network (put TLS in front)")
    st.add_argument("--port", type=int, default=8000)
    st.add_argument("--cull-timeout", type=int, default=3600, help="stop servers idle this many seconds")
    sub.add_parser("teardown", help="remove the accounts and the state made by setup")
    for p in (s, st, *sub.choices.values()):
        if not any(a.dest == "state" for a in p._actions):
            p.add_argument("--state", type=Path, default=DEFAULT_STATE, help=f"hub state folder (default {DEFAULT_STATE})")
    a = ap.parse_args(argv)
    if a.cmd == "setup":
        setup(a.state, a.roster, a.instructor, a.prefix, lock=not a.no_lock)
    elif a.cmd == "start":
        start(a.state, ip=a.ip, port=a.port, cull_timeout=a.cull_timeout)
    else:
        teardown(a.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
