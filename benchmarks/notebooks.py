"""Time each lesson's execution, top to bottom, as a learner's "Run All" would (nbclient, fresh kernel).

    python benchmarks/notebooks.py [LESSON ...] [--autograde]

Prints wall seconds per lesson and in total. Goal on 2 CPU cores: <= 90 s per lesson, <= 6 min for all.
--autograde sets NBGRADER_EXECUTION=autograde, as nbgrader does when grading (lessons shrink heavy work then).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(lesson: str, env: dict[str, str]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / lesson
        shutil.copytree(ROOT / "notebooks" / lesson, work)
        nb = nbformat.read(work / f"{lesson}.ipynb", as_version=4)
        old = dict(os.environ)
        os.environ.update(env, COURSE_QUIZ_PROGRESS=str(Path(tmp) / "p.json"), MPLBACKEND="Agg")
        try:
            t0 = time.perf_counter()
            NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
            seconds = time.perf_counter() - t0
        finally:
            os.environ.clear()
            os.environ.update(old)
        return seconds, sum(c.cell_type == "code" for c in nb.cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lessons", nargs="*")
    ap.add_argument("--autograde", action="store_true")
    a = ap.parse_args()
    lessons = a.lessons or sorted(p.name for p in (ROOT / "notebooks").iterdir() if (p / f"{p.name}.ipynb").exists())
    env = {"NBGRADER_EXECUTION": "autograde"} if a.autograde else {}
    print("| lesson | code cells | wall s |\n|---|---|---|")
    total = 0.0
    cpu0 = os.times()
    for lesson in lessons:
        s, n = run(lesson, env)
        total += s
        print(f"| {lesson} | {n} | {s:.1f} |", flush=True)
    cpu1 = os.times()
    child_cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
    print(f"| **all** | | **{total:.1f}** |\n(load average now {os.getloadavg()[0]:.1f}; kernels' CPU time "
          f"{child_cpu:.0f} s where the OS reports it)")


if __name__ == "__main__":
    main()
