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


def test_learner_mode_switches_off_exactly_the_instructor_panels_nbgrader_ships():
    """The learner config disables the Formgrader, Create Assignment and Course List plugins (ids as the installed
    nbgrader lab extension names them) and the formgrader's server side; `make lab` puts it first."""
    import json

    page_config = json.loads((lab.LEARNER_CONFIG / "labconfig" / "page_config.json").read_text())
    disabled = {k for k, v in page_config["disabledExtensions"].items() if v}
    assert disabled == set(lab.INSTRUCTOR_PLUGINS)
    static = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader" / "static"
    shipped = "".join(f.read_text(errors="ignore") for f in static.glob("*.js"))
    for plugin in (*lab.INSTRUCTOR_PLUGINS, "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"):
        assert f'"{plugin}"' in shipped, f"nbgrader no longer ships {plugin}: update scripts/jupyter/learner/"
    server = json.loads((lab.LEARNER_CONFIG / "jupyter_server_config.d" / "course-learner.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": False,
                                                          "nbgrader.server_extensions.course_list": False}
    env = lab.learner_env({"JUPYTER_CONFIG_PATH": "/elsewhere"})
    assert env["JUPYTER_CONFIG_PATH"].split(":") == [str(lab.LEARNER_CONFIG), "/elsewhere"]


def test_hub_roster_is_checked(tmp_path):
    """deploy/hub.py reads the roster (id,name,email) and refuses bad logins and missing columns."""
    import pytest

    sys.path.insert(0, str(ROOT / "deploy"))
    import hub

    people = hub.read_roster(ROOT / "deploy" / "roster.csv")
    assert people and all(hub.USERNAME.match(p.id) for p in people)
    bad = tmp_path / "roster.csv"
    for text, msg in (("id,name\nann,Ann\n", "email"), ("id,name,email\nAnn Lee,Ann,a@x\n", "not a valid login"),
                      ("id,name,email\nann,A,a@x\nann,B,b@x\n", "twice"), ("id,name,email\n", "no students")):
        bad.write_text(text)
        with pytest.raises(ValueError, match=msg):
            hub.read_roster(bad)


def test_kubernetes_values_parse_and_ask_for_the_measured_resources():
    """deploy/kubernetes/values.yaml is valid YAML with the parts its README promises (unchecked against the chart)."""
    import yaml

    values = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "values.yaml").read_text())
    single = values["singleuser"]
    assert single["memory"]["guarantee"] == "1.5G" and single["cpu"]["guarantee"] == 0.5
    assert values["cull"]["enabled"] is True
    assert any(m["mountPath"] == "/srv/nbgrader/exchange" for m in single["storage"]["extraVolumeMounts"])
    dockerfile = (ROOT / "deploy" / "kubernetes" / "Dockerfile").read_text()
    assert "COPY --chown=${NB_UID}:${NB_GID} notebooks" not in dockerfile and " grading " not in dockerfile
