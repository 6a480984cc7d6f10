"""The grading kernel's sandbox: bubblewrap around ipykernel, with resource limits.

Graded code runs in a Jupyter kernel that this module starts (``grading/jupyter/kernels/course-grader``).
Under bubblewrap (``bwrap``, Debian package ``bubblewrap``) the kernel sees:

* read-only: ``/usr`` (and the merged-usr links), a few files from ``/etc``, the Python installation and the
  virtual environment, and the course's own packages (``course_lib``; ``quizzes/``) - nothing else of the repo,
  so neither ``notebooks/`` (the solutions) nor ``gradebook.db``;
* read-write: its working folder (the autograded copy of one submission), a private ``/tmp`` and ``$HOME``
  (tmpfs, size-capped), and a private folder for its ZeroMQ sockets;
* no network (``--unshare-net``: only a loopback), its own PID/IPC/UTS namespaces, no capabilities, an
  unprivileged uid (65534) inside a user namespace, no GPU (grading is on CPU, the same for everyone).

Before bubblewrap starts, the launcher sets ``setrlimit`` limits that the kernel inherits: memory (``RLIMIT_DATA``,
with ``RLIMIT_AS`` as a backstop), CPU seconds (``RLIMIT_CPU``), largest file (``RLIMIT_FSIZE``) and no core dumps.
A memory bomb therefore meets ``MemoryError`` instead of the OOM killer.

The kernel talks to nbgrader over ZeroMQ *ipc* sockets (Unix sockets in a private folder, linked from the path
nbgrader expects), which is what lets the sandbox have no network at all. nbgrader must therefore start it with
``KernelManager.transport = "ipc"`` (``nbgrader_config.py`` sets that).

Where bubblewrap is missing or user namespaces are refused, the launcher falls back to a plain kernel with the same
resource limits and prints a loud warning (``GRADER_SANDBOX=required`` makes it refuse instead).

Settings (environment variables read by the launcher; ``grading/grade.py`` sets them from its options):
``GRADER_SANDBOX`` (``auto`` | ``required`` | ``off``), ``GRADER_MEMORY_MB`` (default 4096), ``GRADER_CPU_SECONDS``
(default 1800 per kernel), ``GRADER_FILE_MB`` (default 512), ``GRADER_TMP_MB`` (default 1024), ``GRADER_THREADS``
(default: all cores), ``GRADER_EXTRA_RO`` (more read-only paths, ``os.pathsep``-separated).

Examples
--------
>>> from grading.sandbox import Limits
>>> Limits.from_env({"GRADER_MEMORY_MB": "2048"}).memory_mb
2048
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "KERNEL_NAME",
    "KERNELS_DIR",
    "Limits",
    "SandboxStatus",
    "bwrap_command",
    "ensure_bubblewrap",
    "sandbox_status",
    "main",
]

#: Name of the grading kernelspec (``grading/jupyter/kernels/<name>/kernel.json``).
KERNEL_NAME = "course-grader"
#: Folder to add to ``JUPYTER_PATH`` so that Jupyter finds the grading kernelspec.
KERNELS_DIR = Path(__file__).resolve().parent / "jupyter"
#: The repository root (the course directory).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Paths of the repository the graded kernel may read (relative to the repo root, if they exist).
REPO_READ_ONLY = ("course_lib", "quizzes")
#: Packages of the course the graded kernel must import (bound read-only where Python finds them).
COURSE_PACKAGES = ("course_lib",)
#: Files of /etc the kernel needs (dynamic linker, fonts, time zone, MIME types).
ETC_READ_ONLY = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "mime.types",
                 "nsswitch.conf", "alternatives")
#: Environment variables passed through to the graded kernel (everything else is cleared).
ENV_PASSTHROUGH = ("NBGRADER_EXECUTION", "MPLBACKEND", "PYTHONHASHSEED", "TZ", "LANG", "LC_ALL",
                   "COURSE_LIB_QUIET", "PYDEVD_DISABLE_FILE_VALIDATION")
SANDBOX_UID = 65534
#: Grading as root, each sandboxed kernel runs under its own unprivileged uid, ``DROP_UID_BASE + launcher pid``, so
#: that ``RLIMIT_NPROC`` (from which the kernel exempts root) caps what it may start (no uid is shared by two kernels).
DROP_UID_BASE = 2_000_000_000

# Run as root inside the sandbox (bubblewrap without a user namespace), before anything graded: give the private
# folders to the kernel's uid, drop to it for good, then start the kernel. argv: uid, kernel command...
_DROP = """
import os, sys
uid = int(sys.argv[1])
# bubblewrap run by root creates the parents of its mount points with mode 0700: open them (they hold nothing)
with open('/proc/self/mountinfo') as f:
    points = [line.split()[4] for line in f]
for point in points:
    parent = os.path.dirname(point)
    while parent not in ('/', '') and not parent.startswith('/tmp'):
        try:
            os.chmod(parent, 0o755)
        except OSError:
            pass
        parent = os.path.dirname(parent)
os.chmod('/tmp', 0o1777)
for root, dirs, files in os.walk('/tmp'):
    try:
        os.chown(root, uid, uid)
    except OSError:
        pass
os.chmod('/dev/shm', 0o1777)
try:
    os.chown('.', uid, uid)  # the working folder (a private one when the real one was refused)
except OSError:
    pass
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
if os.getuid() != uid or os.geteuid() != uid or os.getegid() != uid:
    sys.exit('grading sandbox: could not drop to uid %d' % uid)
os.execv(sys.argv[2], sys.argv[2:])
"""


def _warn(message: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n{message}\n{bar}\n", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to one grading kernel (and everything it starts).

    Parameters
    ----------
    memory_mb : int
        Heap memory (``RLIMIT_DATA``); the address space (``RLIMIT_AS``) gets this plus 8 GiB, because importing
        torch alone maps ~4 GB of shared libraries.
    cpu_seconds : int
        CPU time for the whole kernel (``RLIMIT_CPU``); a per-cell wall-clock timeout stops ordinary loops first.
    file_mb : int
        Largest file the kernel may write (``RLIMIT_FSIZE``).
    tmp_mb : int
        Size of the private ``/tmp`` (tmpfs) inside the sandbox.
    threads : int or None
        Value for ``OMP_NUM_THREADS`` and friends (``None``: leave the library defaults).
    processes : int
        Processes and threads the kernel may start (``RLIMIT_NPROC``, which counts tasks). Graded by a normal
        user, on top of that user's current count; graded by root (whom the kernel exempts), the sandboxed kernel
        runs under a dedicated unprivileged uid with exactly this cap. A fork bomb stops there.

    Examples
    --------
    >>> Limits().cpu_seconds
    1800
    """

    memory_mb: int = 4096
    cpu_seconds: int = 1800
    file_mb: int = 512
    tmp_mb: int = 1024
    threads: int | None = None
    processes: int = 256

    def __post_init__(self) -> None:
        for name in ("memory_mb", "cpu_seconds", "file_mb", "tmp_mb", "processes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads <= 0):
            raise ValueError(f"Limits.threads must be a positive integer or None, got {self.threads!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """Read the limits from ``GRADER_*`` environment variables (defaults where unset).

        Examples
        --------
        >>> Limits.from_env({"GRADER_THREADS": "1"}).threads
        1
        """
        env = os.environ if env is None else env

        def read(key: str, default: int | None) -> int | None:
            raw = env.get(key, "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"{key} must be an integer, got {raw!r}") from None

        return cls(memory_mb=read("GRADER_MEMORY_MB", cls.memory_mb), cpu_seconds=read("GRADER_CPU_SECONDS", cls.cpu_seconds),
                   file_mb=read("GRADER_FILE_MB", cls.file_mb), tmp_mb=read("GRADER_TMP_MB", cls.tmp_mb),
                   threads=read("GRADER_THREADS", None), processes=read("GRADER_PROCESSES", cls.processes))

    def apply(self, uid: int | None = None) -> None:
        """Set the limits on the current process (its children inherit them).

        ``uid``: the unprivileged uid the kernel will run under (grading as root); ``RLIMIT_NPROC`` then counts its
        tasks, not root's.
        """
        mib = 1024 * 1024
        _setrlimit(resource.RLIMIT_DATA, self.memory_mb * mib)
        _setrlimit(resource.RLIMIT_AS, (self.memory_mb + 8192) * mib)
        _setrlimit(resource.RLIMIT_CPU, self.cpu_seconds, hard=self.cpu_seconds + 10)
        _setrlimit(resource.RLIMIT_FSIZE, self.file_mb * mib)
        _setrlimit(resource.RLIMIT_CORE, 0)
        if uid is not None:
            _setrlimit(resource.RLIMIT_NPROC, _processes_of(uid) + self.processes)
        elif os.getuid() != 0:  # RLIMIT_NPROC counts every task of the real uid, and root is exempt from it
            _setrlimit(resource.RLIMIT_NPROC, _processes_of(os.getuid()) + self.processes)


def _processes_of(uid: int) -> int:
    """Tasks (processes and their threads: what RLIMIT_NPROC counts) whose real uid is ``uid``."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            if fields.get("Uid", "").split()[:1] == [str(uid)]:
                count += int(fields.get("Threads", "1").strip() or 1)
    return count


def _setrlimit(kind: int, soft: int, hard: int | None = None) -> None:
    old_soft, old_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:  # never try to raise a hard limit someone else set
        hard = min(hard, old_hard)
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


@dataclass(frozen=True)
class SandboxStatus:
    """Whether graded code can run inside bubblewrap here, and why not if it cannot.

    Examples
    --------
    >>> SandboxStatus(False, "none", "bwrap not found").describe()
    'NO SANDBOX (bwrap not found)'
    """

    available: bool
    method: str
    reason: str = ""

    def describe(self) -> str:
        """One line for logs and reports."""
        return f"{self.method}" if self.available else f"NO SANDBOX ({self.reason})"


@functools.lru_cache(maxsize=1)
def sandbox_status() -> SandboxStatus:
    """Probe once whether ``bwrap`` can create the namespaces the grading kernel needs.

    Examples
    --------
    >>> sandbox_status().method in {"bubblewrap", "none"}
    True
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(False, "none", "bwrap not found: install the Debian/Ubuntu package 'bubblewrap'")
    probe = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
             "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return SandboxStatus(False, "none", f"bwrap could not run: {err}")
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        return SandboxStatus(False, "none", "bwrap cannot create namespaces here: " + (why[-1] if why else
                                                                                        f"exit {done.returncode}"))
    return SandboxStatus(True, "bubblewrap")


def ensure_bubblewrap(install: bool = True) -> SandboxStatus:
    """Make bubblewrap available if possible (``apt-get install bubblewrap`` when root), else warn loudly.

    Never raises: on a laptop without root or apt it returns an unavailable status after printing why.

    Examples
    --------
    >>> ensure_bubblewrap(install=False).method in {"bubblewrap", "none"}
    True
    """
    status = sandbox_status()
    if status.available or not install:
        if not status.available:
            _warn_unsandboxed(status)
        return status
    if shutil.which("bwrap") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print(">> grading: installing bubblewrap (apt-get install -y bubblewrap)", file=sys.stderr, flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "bubblewrap"]
        ok = subprocess.run(cmd, env=env, capture_output=True).returncode == 0
        if not ok:  # stale package lists: refresh once and retry
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            subprocess.run(cmd, env=env, capture_output=True)
        sandbox_status.cache_clear()
        status = sandbox_status()
    if not status.available:
        _warn_unsandboxed(status)
    return status


def _warn_unsandboxed(status: SandboxStatus) -> None:
    _warn("WARNING: graded code will run WITHOUT a sandbox: " + status.reason + "\n"
          "It runs as you, can read the solutions in notebooks/ and can write gradebook.db (grade.py still checks\n"
          "the gradebook afterwards and restores its backup if anything changed). Fix: install bubblewrap\n"
          "(sudo apt-get install bubblewrap) and make sure user namespaces are allowed (kernel.unprivileged_userns_clone=1).")


def _read_only_paths(extra: Sequence[str] = ()) -> list[str]:
    """Python installation, virtual environment, site-packages and the course's packages (never the repo root)."""
    repo = REPO_ROOT
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    candidates.update(p for p in sys.path if p and os.path.isabs(p))
    candidates.update(str(repo / name) for name in REPO_READ_ONLY)
    for package in COURSE_PACKAGES:  # where the import system really finds them (an editable install, say)
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidates.add(location)
            candidates.update(str(Path(location).parent / name) for name in REPO_READ_ONLY if name != package)
    candidates.update(extra)
    paths: list[str] = []
    for raw in candidates:
        path = os.path.realpath(raw)
        if not os.path.exists(path) or path == "/":
            continue
        # never expose a folder that contains the course (solutions, gradebook) or the home folder wholesale
        if os.path.commonpath([path, str(repo)]) == path:
            continue
        paths.append(path)
    # drop paths already inside another bound path
    paths.sort(key=len)
    kept: list[str] = []
    for path in paths:
        if not any(os.path.commonpath([path, k]) == k for k in kept):
            kept.append(path)
    return kept


def _seeded_cache_binds(inside: str, outside: Path) -> list[str]:
    """Bind every existing cache file read-only inside a writable tmpfs folder (no poisoning other students)."""
    args: list[str] = []
    if outside.is_dir():
        for file in sorted(outside.rglob("*")):
            if file.is_file() and not file.name.endswith(".tmp"):
                args += ["--ro-bind", str(file), f"{inside}/{file.relative_to(outside)}"]
    return args


def bwrap_command(argv: Sequence[str], *, workdir: str, sockets_dir: str, limits: Limits,
                  env: Mapping[str, str] | None = None, network: bool = False,
                  extra_read_only: Sequence[str] = (), drop_uid: int | None = None) -> list[str]:
    """The bubblewrap command line that runs ``argv`` inside the grading sandbox.

    Parameters
    ----------
    argv : sequence of str
        The command to run inside (absolute executable path).
    workdir : str
        The only folder of the host the command may write (bound read-write at the same path; it becomes the cwd).
    sockets_dir : str
        Private folder for the kernel's ZeroMQ sockets and connection file, bound read-write at ``/run/kernel``.
    limits : Limits
        Used for the size of the private ``/tmp`` and the thread variables.
    env : mapping, optional
        The launcher's environment; only ``ENV_PASSTHROUGH`` variables are passed on.
    network : bool
        Keep the host network (only for TCP kernels started outside nbgrader; nbgrader uses ipc).
    extra_read_only : sequence of str
        More host paths to expose read-only.
    drop_uid : int, optional
        Grading as root: no user namespace (root's would keep the kernel exempt from ``RLIMIT_NPROC``); instead a
        tiny step inside the sandbox drops to this unprivileged uid for good before the kernel starts.

    Examples
    --------
    >>> cmd = bwrap_command(["/usr/bin/true"], workdir="/tmp/w", sockets_dir="/tmp/s", limits=Limits())
    >>> cmd[0].endswith("bwrap") and "--unshare-net" in cmd
    True
    """
    env = os.environ if env is None else env
    bwrap = shutil.which("bwrap") or "bwrap"
    user = [] if drop_uid is not None else ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    cmd = [bwrap, *user, "--unshare-ipc",
           "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "grader",
           "--die-with-parent", "--new-session", "--clearenv"]
    if not network:
        cmd.append("--unshare-net")
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{top}"
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    for name in ETC_READ_ONLY:
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm",
            "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    for path in _read_only_paths(extra_read_only):
        cmd += ["--ro-bind", path, path]
    home = "/tmp/home"
    cmd += ["--dir", home, "--dir", "/tmp/cache/course_lib/data", "--dir", "/tmp/cache/torch"]
    course_cache = Path(env.get("COURSE_LIB_CACHE") or Path.home() / ".cache" / "course_lib") / "data"
    cmd += _seeded_cache_binds("/tmp/cache/course_lib/data", course_cache)
    torch_home = Path(env.get("TORCH_HOME") or Path.home() / ".cache" / "torch")
    cmd += _seeded_cache_binds("/tmp/cache/torch", torch_home)
    cmd += ["--bind", sockets_dir, "/run/kernel", "--ro-bind", f"{sockets_dir}/passwd", "/etc/passwd",
            "--ro-bind", f"{sockets_dir}/group", "/etc/group"]
    workdir = os.path.realpath(workdir)
    if (Path(workdir) / "gradebook.db").exists() or os.path.commonpath([workdir, str(REPO_ROOT)]) == workdir:
        _warn(f"grading sandbox: refusing to expose {workdir} (it holds the course or its gradebook); the kernel "
              "gets an empty private working folder instead")
        cmd += ["--dir", workdir]
    else:
        cmd += ["--bind", workdir, workdir]
    cmd += ["--chdir", workdir]
    variables = {"HOME": home, "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
                 "PATH": f"{os.path.dirname(argv[0])}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                 "MPLCONFIGDIR": "/tmp/cache/matplotlib", "COURSE_LIB_CACHE": "/tmp/cache/course_lib",
                 "TORCH_HOME": "/tmp/cache/torch", "CUDA_VISIBLE_DEVICES": "", "PYTHONNOUSERSITE": "1",
                 "PYTHONDONTWRITEBYTECODE": "1", "GRADER_SANDBOX_ACTIVE": "bubblewrap"}
    variables.update({k: env[k] for k in ENV_PASSTHROUGH if k in env})
    if limits.threads:
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCH_NUM_THREADS"):
            variables[key] = str(limits.threads)
    for key, value in variables.items():
        cmd += ["--setenv", key, value]
    if drop_uid is not None:
        return cmd + ["--", sys.executable, "-I", "-S", "-c", _DROP, str(drop_uid), *argv]
    return cmd + ["--", *argv]


def _prepare_sockets(connection_file: str, uid: int = SANDBOX_UID) -> tuple[str, str, dict]:
    """Private socket folder + rewritten connection file; link the paths the client expects to the real sockets."""
    with open(connection_file) as f:
        info = json.load(f)
    ip = info["ip"]
    if not os.path.isabs(ip):  # relative to the *client's* working folder (our parent process), not ours
        try:
            ip = os.path.join(os.readlink(f"/proc/{os.getppid()}/cwd"), ip)
        except OSError:
            ip = os.path.abspath(ip)
    private = tempfile.mkdtemp(prefix="grader-kernel-", dir=os.path.dirname(os.path.abspath(connection_file)))
    os.chmod(private, 0o700)
    inner = dict(info, ip="/run/kernel/k")
    with open(os.path.join(private, "connection.json"), "w") as f:
        json.dump(inner, f)
    for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
        port = info[key]
        outside = f"{ip}-{port}"
        if os.path.lexists(outside):
            os.remove(outside)
        os.symlink(os.path.join(private, f"k-{port}"), outside)
    with open(os.path.join(private, "passwd"), "w") as f:
        f.write(f"student:x:{uid}:{uid}:student:/tmp/home:/bin/false\n")
    with open(os.path.join(private, "group"), "w") as f:
        f.write(f"student:x:{uid}:\n")
    return private, "/run/kernel/connection.json", info


def main(argv: Sequence[str] | None = None) -> None:
    """Kernel launcher (``kernel.json`` runs ``python launch.py -f {connection_file}``): limits, then bwrap + ipykernel."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", dest="connection_file", required=True)
    args, rest = parser.parse_known_args(argv)
    mode = os.environ.get("GRADER_SANDBOX", "auto").strip().lower() or "auto"
    if mode not in {"auto", "required", "off"}:
        raise ValueError(f"GRADER_SANDBOX must be auto, required or off, got {mode!r}")
    limits = Limits.from_env()
    kernel = [sys.executable, "-m", "ipykernel_launcher"]
    with open(args.connection_file) as f:
        transport = json.load(f).get("transport", "tcp")
    status = sandbox_status() if mode != "off" else SandboxStatus(False, "none", "GRADER_SANDBOX=off")
    if not status.available:
        if mode == "required":
            _warn(f"grading sandbox REQUIRED but unavailable: {status.reason}; refusing to run graded code")
            sys.exit(3)
        _warn_unsandboxed(status)
        limits.apply()
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", GRADER_SANDBOX_ACTIVE="none")
        if limits.threads:
            env.update({k: str(limits.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
        os.execve(sys.executable, [*kernel, "-f", args.connection_file, *rest], env)
    # as root: a dedicated unprivileged uid, so that RLIMIT_NPROC binds (it never binds root, and a user namespace
    # created by root still counts as root)
    drop_uid = DROP_UID_BASE + os.getpid() if os.geteuid() == 0 else None
    uid_inside = SANDBOX_UID if drop_uid is None else drop_uid
    network = transport != "ipc"
    if network:
        _warn("grading sandbox: this kernel was started with the TCP transport, so it keeps the network. nbgrader "
              "uses ipc with this course's nbgrader_config.py (c.KernelManager.transport = 'ipc').")
        private = tempfile.mkdtemp(prefix="grader-kernel-")
        for name, line in (("passwd", f"student:x:{uid_inside}:{uid_inside}::/tmp/home:/bin/false\n"),
                           ("group", f"student:x:{uid_inside}:\n")):
            Path(private, name).write_text(line)
        shutil.copy(args.connection_file, os.path.join(private, "connection.json"))
        inner_file = "/run/kernel/connection.json"
    else:
        private, inner_file, _ = _prepare_sockets(args.connection_file, uid_inside)
    extra = [p for p in os.environ.get("GRADER_EXTRA_RO", "").split(os.pathsep) if p]
    cmd = bwrap_command([*kernel, "-f", inner_file, *rest], workdir=os.getcwd(), sockets_dir=private,
                        limits=limits, network=network, extra_read_only=extra, drop_uid=drop_uid)
    if drop_uid is not None:  # the kernel's uid creates its sockets and writes its working folder
        os.chown(private, drop_uid, drop_uid)
        if "--dir" not in cmd[cmd.index("--chdir") - 2:cmd.index("--chdir")]:
            os.chown(os.getcwd(), drop_uid, drop_uid)
    limits.apply(uid=drop_uid)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
