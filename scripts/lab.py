"""Open the course in JupyterLab (`make lab`): the learner workspace, at lesson 1, on 127.0.0.1.

Ships the course's JupyterLab settings (no news or update checks, which fail offline; windowing that keeps
every cell in the page) as defaults the learner can still change, points quiz progress into the workspace, and
hands the terminal to JupyterLab, so a single Ctrl-C stops it cleanly.

Learner mode (the default): the instructor's nbgrader panels - Formgrader, Create Assignment, Course List - are
switched off through the config folder ``scripts/jupyter/learner/`` put first on ``JUPYTER_CONFIG_PATH`` (the
hub's student servers use the same folder). ``--instructor`` (``make lab INSTRUCTOR=1``) leaves them on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEARNER_CONFIG = ROOT / "scripts" / "jupyter" / "learner"
#: The nbgrader plugins a learner never needs (ids from `jupyter labextension list`).
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")


def install_settings() -> Path:
    """Copy the course's settings overrides into this environment's JupyterLab settings folder."""
    target = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "scripts" / "jupyter" / "overrides.json", target)
    return target


def learner_env(env: dict[str, str], config: Path = LEARNER_CONFIG) -> dict[str, str]:
    """``env`` with the learner-mode config folder first on ``JUPYTER_CONFIG_PATH`` (no instructor panels).

    >>> learner_env({"JUPYTER_CONFIG_PATH": "/x"}, Path("/learner"))["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    ['/learner', '/x']
    """
    rest = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and p != str(config)]
    return {**env, "JUPYTER_CONFIG_PATH": os.pathsep.join([str(config), *rest])}


def first_lesson(workspace: Path) -> str:
    for d in sorted(p for p in workspace.iterdir() if p.is_dir() and not p.name.startswith(".")):
        nb = d / f"{d.name}.ipynb"
        if nb.exists():
            return f"{d.name}/{nb.name}"
    return ""


def command(workspace: Path, port: int, open_browser: bool) -> list[str]:
    lesson = first_lesson(workspace)
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={workspace}", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.answer_yes=True",  # Ctrl-C stops without a y/n question
           f"--LabApp.default_url=/lab/tree/{lesson}" if lesson else "--LabApp.default_url=/lab"]
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8888)
    ap.add_argument("--workspace", type=Path, default=ROOT / "workspace")
    ap.add_argument("--no-browser", action="store_true", help="do not try to open a web browser")
    ap.add_argument("--instructor", action="store_true",
                    help="keep nbgrader's instructor panels (Formgrader, Create Assignment, Course List)")
    a = ap.parse_args(argv)
    install_settings()
    env_progress = a.workspace / ".quiz_progress.json"
    os.environ.setdefault("COURSE_QUIZ_PROGRESS", str(env_progress))
    if not a.instructor:
        os.environ.update(learner_env(dict(os.environ)))
    has_screen = sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    cmd = command(a.workspace, a.port, open_browser=has_screen and not a.no_browser)
    print("=" * 78)
    print("  Fine-tuning pre-trained vision models - the course is starting in JupyterLab.")
    print(f"  Open the URL printed below (http://127.0.0.1:{a.port}/lab?token=...) if no browser opens.")
    print("  Your work is saved in workspace/; `make lab` never overwrites it.  Stop with Ctrl-C.")
    print("=" * 78, flush=True)
    os.execv(sys.executable, cmd)  # JupyterLab takes over this process: Ctrl-C reaches it directly


if __name__ == "__main__":
    sys.exit(main())
