"""Benchmark: autograde a generated class with ``make grade`` and with nbgrader one submission at a time.

A throw-away course gets the lessons under ``notebooks/`` (or the pipeline fixture ``tests/fixtures/grading/ps0`` when
there are none), then a class of generated submissions: 60% correct (the reference answers), 25% half done, 15%
blank. Two timings, same configuration (the sandboxed kernel and ``SafeExecute`` in both):

* ``make grade``: ``grading/grade.py`` on the whole class (parallel workers, feedback, export);
* one by one: ``nbgrader autograde <assignment> --student <id>`` for each submission of the first
  ``--baseline-students`` students, one process after another as an instructor would type it; the per-student
  time is multiplied by the class size (the cost is linear in students; stated in the output).

Usage::

    .venv/bin/python benchmarks/grading.py                       # 30 students, every lesson
    .venv/bin/python benchmarks/grading.py --students 30 --assignments 01_metrics --baseline-students 3

Goal: a class of 30 in <= 5 minutes on 2 cores. The machine's load average is printed with the numbers: on a shared
machine wall-clock times stretch with the other users' load.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grading.classroom import (  # noqa: E402
    generate,
    new_course,
    release_notebooks,
    solution_sources,
    solved,
    submit,
)

FIXTURE = REPO / "tests" / "fixtures" / "grading" / "ps0"


def lessons(names: list[str] | None) -> dict[str, Path]:
    """Assignment id -> source folder: the requested lessons, all of notebooks/, or the fixture."""
    found = {p.name: p for p in sorted((REPO / "notebooks").iterdir()) if p.is_dir() and any(p.glob("*.ipynb"))}
    if names:
        missing = [n for n in names if n not in found and n != "ps0"]
        if missing:
            raise ValueError(f"no lesson {missing} under notebooks/; choose from {sorted(found)}")
        return {n: found.get(n, FIXTURE) for n in names}
    return found or {"ps0": FIXTURE}


def make_class(course: Path, assignments: list[str], students: int) -> list[str]:
    """Write ``students`` generated submissions for every assignment; returns the student ids."""
    ids = [f"student{i:02d}" for i in range(1, students + 1)]
    for a in assignments:
        for name, release in release_notebooks(course, a).items():
            answers = solution_sources(course / "notebooks" / a / f"{name}.ipynb")
            ordered = [c.metadata["nbgrader"]["grade_id"] for c in release.cells
                       if c.metadata.get("nbgrader", {}).get("solution")]
            for i, sid in enumerate(ids):
                kind = i % 20
                if kind < 12:
                    nb = solved(release, answers)
                elif kind < 17:
                    nb = solved(release, answers, only=ordered[: len(ordered) // 2])
                else:
                    nb = release
                submit(course, sid, a, {name: nb}, timestamp="2026-11-20 10:00:00.000000 UTC")
    return ids


def run(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``cmd``; return its wall time and the CPU time of its whole process tree, in seconds.

    CPU time is sampled with psutil every 0.2 s over every descendant (kernels inside bubblewrap included), so a
    process that lives less than that is missed: a slight under-count. On a shared machine it is the number that
    says what the work costs, whatever the other users' load.
    """
    import psutil

    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True)
        seen: dict[int, float] = {}
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        t = p.cpu_times()
                        seen[p.pid] = max(seen.get(p.pid, 0.0), t.user + t.system)
            except psutil.Error:
                pass
            time.sleep(0.2)
        if proc.returncode not in (0, 1):
            out.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out.read()[-4000:]}")
    return time.monotonic() - t0, sum(seen.values())


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--assignments", nargs="*", default=None, help="lesson ids (default: every lesson)")
    p.add_argument("--baseline-students", type=int, default=3, help="students timed one by one (then scaled)")
    p.add_argument("--jobs", type=int, default=None, help="grade.py --jobs (default: its own choice)")
    p.add_argument("--keep", type=Path, default=None, help="keep the course here instead of a temp folder")
    args = p.parse_args(argv)
    if args.students < 1 or args.baseline_students < 0:
        p.error("--students must be >= 1 and --baseline-students >= 0")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    sources = lessons(args.assignments)
    work = args.keep or Path(tempfile.mkdtemp(prefix="grading-bench-"))
    course = new_course(work / "course", sources)
    t0 = time.monotonic()
    for a in sources:
        generate(course, a)
    ids = make_class(course, list(sources), args.students)
    print(f"course {course}: {len(sources)} assignment(s) {list(sources)}, {len(ids)} students "
          f"(set up in {time.monotonic() - t0:.0f} s); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)

    baseline_course = work / "baseline"
    if args.baseline_students:
        shutil.copytree(course, baseline_course, ignore=shutil.ignore_patterns(".grading"))

    cmd = [sys.executable, str(REPO / "grading" / "grade.py"), "--course-dir", str(course), "--no-install"]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    wall, cpu_ours = run(cmd, REPO)
    phases = json.loads((course / ".grading" / "last_run.json").read_text())
    with open(course / "grading_report.csv") as f:
        rows = list(csv.DictReader(f))
    statuses = {s: sum(r["status"] == s for r in rows) for s in {r["status"] for r in rows}}
    result = {"assignments": list(sources), "students": len(ids), "submissions": len(ids) * len(sources),
              "jobs": phases["jobs"], "make_grade_s": round(wall, 1), "autograde_s": phases["autograde_s"],
              "feedback_s": phases["feedback_s"], "export_s": phases["export_s"],
              "seconds_per_student": round(wall / len(ids), 2), "statuses": statuses,
              "sandbox": phases["sandbox"], "load_average_1min": round(os.getloadavg()[0], 1),
              "make_grade_cpu_s": round(cpu_ours, 1), "cpu_s_per_student": round(cpu_ours / len(ids), 2),
              "dedicated_2_cores_estimate_s": round(cpu_ours / 2, 1)}
    print(f"make grade: {wall:.0f} s for {len(ids)} students x {len(sources)} assignment(s) "
          f"({wall / len(ids):.1f} s per student; autograde {phases['autograde_s']:.0f} s, feedback "
          f"{phases['feedback_s']:.0f} s, export {phases['export_s']:.0f} s; {phases['jobs']} workers) {statuses}; "
          f"CPU {cpu_ours:.0f} s ({cpu_ours / len(ids):.1f} s per student) -> about {cpu_ours / 2:.0f} s on 2 "
          "dedicated cores", flush=True)

    if args.baseline_students:
        sample = ids[: args.baseline_students]
        one = [run([sys.executable, "-m", "nbgrader", "autograde", a, "--student", sid, "--force"], baseline_course)
               for sid in sample for a in sources]
        per_student = sum(w for w, _ in one) / len(sample)
        cpu_one = sum(c for _, c in one) / len(sample)
        t_fb = sum(run([sys.executable, "-m", "nbgrader", "generate_feedback", a], baseline_course)[0]
                   for a in sources)
        t_ex = run([sys.executable, "-m", "nbgrader", "export"], baseline_course)[0]
        scale = len(ids) / len(sample)
        baseline_total = per_student * len(ids) + t_fb * scale + t_ex
        result.update(one_by_one_seconds_per_student=round(per_student, 2),
                      one_by_one_autograde_class_s=round(per_student * len(ids), 1),
                      one_by_one_total_class_s=round(baseline_total, 1),
                      speedup_autograde=round(per_student * len(ids) / phases["autograde_s"], 2),
                      speedup_total=round(baseline_total / wall, 2), baseline_sample=len(sample),
                      one_by_one_cpu_s_per_student=round(cpu_one, 2),
                      one_by_one_dedicated_estimate_s=round(cpu_one * len(ids), 1),
                      speedup_dedicated_estimate=round(cpu_one * len(ids) / (cpu_ours / 2), 2))
        print(f"one by one: {per_student:.1f} s per student (measured on {len(sample)}, scaled to {len(ids)}): "
              f"autograde {per_student * len(ids):.0f} s, with feedback and export {baseline_total:.0f} s", flush=True)
        print(f"one by one CPU: {cpu_one:.1f} s per student (one process at a time uses one core: about "
              f"{cpu_one * len(ids):.0f} s for the class on a dedicated machine)", flush=True)
        print(f"speedup of make grade: x{result['speedup_autograde']} on autograding, x{result['speedup_total']} "
              f"end to end (wall clock, this machine); x{result['speedup_dedicated_estimate']} estimated from CPU "
              "time on 2 dedicated cores", flush=True)
    goal = 300
    est = cpu_ours / 2 * 30 / len(ids)
    print(f"goal: a class of 30 in <= {goal} s on 2 cores -> this run: {wall * 30 / len(ids):.0f} s wall per 30 "
          f"students at load {os.getloadavg()[0]:.1f}; about {est:.0f} s on 2 dedicated cores (CPU time / 2, a lower "
          f"bound): "
          f"{'met' if est <= goal else 'NOT met'}", flush=True)
    print(json.dumps(result, indent=1))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
