"""`make lab`'s workspace: student versions are added, the learner's own files are never overwritten."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lab  # noqa: E402
import workspace  # noqa: E402


def test_copy_missing_adds_new_lessons_and_keeps_the_learners_work(tmp_path):
    build, ws = tmp_path / "build", tmp_path / "ws"
    (build / "01_metrics").mkdir(parents=True)
    (build / "01_metrics" / "01_metrics.ipynb").write_text("course version 2")
    (build / "02_pretrained_models").mkdir()
    (build / "02_pretrained_models" / "02_pretrained_models.ipynb").write_text("new lesson")
    (ws / "01_metrics").mkdir(parents=True)
    mine = ws / "01_metrics" / "01_metrics.ipynb"
    mine.write_text("my answers")
    progress = ws / ".quiz_progress.json"
    progress.write_text('{"my": "progress"}')

    added, kept = workspace.copy_missing(build, ws)

    assert mine.read_text() == "my answers"
    assert progress.read_text() == '{"my": "progress"}'
    assert (ws / "02_pretrained_models" / "02_pretrained_models.ipynb").read_text() == "new lesson"
    assert added == [ws / "02_pretrained_models" / "02_pretrained_models.ipynb"] and kept == [mine]
    # running again changes nothing
    assert workspace.copy_missing(build, ws) == ([], [mine, ws / "02_pretrained_models" / "02_pretrained_models.ipynb"])


def test_lab_command_serves_the_workspace_on_localhost_at_lesson_one(tmp_path):
    (tmp_path / "01_metrics").mkdir()
    (tmp_path / "01_metrics" / "01_metrics.ipynb").write_text("{}")
    cmd = lab.command(tmp_path, 8899, open_browser=False)
    assert "--ip=127.0.0.1" in cmd and "--port=8899" in cmd and "--no-browser" in cmd
    assert f"--ServerApp.root_dir={tmp_path}" in cmd
    assert "--LabApp.default_url=/lab/tree/01_metrics/01_metrics.ipynb" in cmd


def test_lessons_found_are_the_notebook_folders():
    found = workspace.lessons()
    assert found == sorted(found) and "01_metrics" in found
    assert all((ROOT / "notebooks" / f / f"{f}.ipynb").exists() for f in found)
