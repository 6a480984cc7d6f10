"""Prepare the learner's workspace: student versions of every lesson, never overwriting the learner's work.

`make lab` runs this. For each lesson in notebooks/<id>/, nbgrader generates the student version (solutions
and hidden tests removed) into .build/release/<id>/; then every file is copied into workspace/<id>/ *only if
the learner has no file of that name yet*. Re-running after the course is updated adds new lessons and new
files, and leaves the learner's own notebooks and quiz progress alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks"
BUILD = ROOT / ".build" / "release"
STAMPS = ROOT / ".build" / "release-stamps.json"


def lessons(source: Path = SOURCE) -> list[str]:
    return sorted(p.name for p in source.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file() and ".ipynb_checkpoints" not in f.parts:
            h.update(str(f.relative_to(folder)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def generate_release(ids: list[str], build: Path = BUILD) -> None:
    """Run nbgrader's generate_assignment for lessons whose source changed since the last run."""
    stamps = json.loads(STAMPS.read_text()) if STAMPS.exists() else {}
    todo = [i for i in ids if stamps.get(i) != _digest(SOURCE / i) or not (build / i).exists()]
    for i in todo:
        print(f">> generating the student version of {i}", flush=True)
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", i, "--force", "--no-db",
               f"--CourseDirectory.release_directory={build}", "--log-level=WARN"]
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"nbgrader could not generate {i}:\n{res.stdout}\n{res.stderr}")
        stamps[i] = _digest(SOURCE / i)
        STAMPS.parent.mkdir(parents=True, exist_ok=True)
        STAMPS.write_text(json.dumps(stamps, indent=1))


def copy_missing(build: Path, workspace: Path) -> tuple[list[Path], list[Path]]:
    """Copy files from the build into the workspace where no file exists yet; returns (added, kept)."""
    added, kept = [], []
    for src in sorted(build.rglob("*")):
        if not src.is_file():
            continue
        dst = workspace / src.relative_to(build)
        if dst.exists():
            kept.append(dst)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        added.append(dst)
    return added, kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=ROOT / "workspace")
    a = ap.parse_args(argv)
    ids = lessons()
    if not ids:
        print("No lessons found in notebooks/.")
        return 1
    generate_release(ids)
    added, kept = copy_missing(BUILD, a.workspace)
    print(f">> workspace {a.workspace}: {len(added)} new file(s), {len(kept)} of yours left untouched")
    for p in added:
        print(f"   + {p.relative_to(a.workspace)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
