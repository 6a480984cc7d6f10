"""course_lib.widgets: the explorers update their numbers when driven like a learner would (slider, buttons,
checkboxes), the numbers agree with scikit-learn / PyTorch, and a headless run shows something useful."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sklearn.metrics as skm  # noqa: E402
import torch  # noqa: E402

from course_lib.models import blocks, course_cnn, freeze  # noqa: E402
from course_lib.widgets import PRESETS, freeze_explorer, threshold_explorer  # noqa: E402

DEFECTS, TUMOURS = list(PRESETS)


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.25).astype(int)
    s = np.clip(rng.normal(0.3 + 0.35 * y, 0.15), 0, 1)
    return y, s


def reference(y, s, t):
    pred = (s >= t).astype(int)
    (tn, fp), (fn, tp) = skm.confusion_matrix(y, pred, labels=[0, 1])
    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred, zero_division=0),
    }


def shown_number(html: str, name: str) -> float:
    """Read 'precision 0.89' from the HTML text, as a browser test would read the page."""
    text = re.sub(r"<[^>]+>", " ", html)
    m = re.search(rf"\b{name} (\d\.\d\d)\b", text)
    assert m, f"{name!r} not shown in {text!r}"
    return float(m.group(1))


# ---------------------------------------------------------------------------------------------------------------
def test_slider_moves_update_every_number(scored) -> None:
    y, s = scored
    ex = threshold_explorer(y, s, class_names=("tumour", "healthy"))
    assert ex.slider.value == 0.5 and (ex.slider.min, ex.slider.max) == (0.0, 1.0)
    before_png = ex.curve.value
    for t in (0.5, 0.3, 0.62, 0.05):
        ex.slider.value = t
        st, ref = ex.state, reference(y, s, t)
        assert st["threshold"] == t
        for key, value in ref.items():
            assert st[key] == pytest.approx(value), key
        for name in ("precision", "recall", "F1", "accuracy"):
            assert shown_number(ex.summary_html.value, name) == pytest.approx(ref[name.lower()], abs=0.005)
        assert f"TP {ref['tp']}" in ex.matrix_html.value and f"FN {ref['fn']}" in ex.matrix_html.value
        assert f"FP {ref['fp']}" in ex.matrix_html.value and f"TN {ref['tn']}" in ex.matrix_html.value
        assert "true tumour" in ex.matrix_html.value
    assert ex.curve.value != before_png  # the operating point on the curve moved
    assert ex.curve.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_verdict_follows_the_threshold(scored) -> None:
    from course_lib.diagnostics import verdict_from_scores

    y, s = scored
    ex = threshold_explorer(y, s, show_curve=False)
    for t in np.linspace(0.05, 0.95, 10):
        ex.set_threshold(float(t))
        ref = reference(y, s, float(t))
        expected = verdict_from_scores(ref["accuracy"], ref["precision"], ref["recall"], ref["f1"])
        assert ex.state["verdict"] == expected
        assert "verdict: <b" in ex.summary_html.value and expected in ex.summary_html.value


def test_presets_pick_the_promised_operating_points(scored) -> None:
    y, s = scored
    ex = threshold_explorer(y, s, show_curve=False)
    p, r, t = skm.precision_recall_curve(y, s)
    p, r = p[:-1], r[:-1]

    ex.preset_buttons[DEFECTS].click()
    ok = p >= PRESETS[DEFECTS][1]
    assert ex.state["precision"] >= PRESETS[DEFECTS][1]
    assert ex.state["recall"] == pytest.approx(r[ok].max())  # as much recall as that precision allows
    assert "preset: defect inspection" in ex.summary_html.value

    ex.preset_buttons[TUMOURS].click()
    ok = r >= PRESETS[TUMOURS][1]
    assert ex.state["recall"] >= PRESETS[TUMOURS][1]
    assert ex.slider.value == pytest.approx(t[ok].max())  # the strictest threshold that still finds 95 %
    ex.slider.value = 0.5  # moving by hand leaves the preset
    assert "preset" not in ex.summary_html.value
    with pytest.raises(ValueError, match="preset"):
        ex.apply_preset("cats")


def test_headless_output_carries_the_numbers(scored) -> None:
    y, s = scored
    ex = threshold_explorer(y, s)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("threshold 0.50 | precision")
    assert "precision" in bundle["text/html"] and "TP " in bundle["text/html"] and "data:image/png" in bundle["text/html"]


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4], "two classes"),
        ([0, 1, 0, 1], [0.1, 2.0, 0.3, 0.4], "between 0 and 1"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "both classes"),
        ([0, 1], [0.1, 0.2, 0.3], "same length"),
    ],
)
def test_threshold_explorer_refuses_bad_input(y, s, match) -> None:
    with pytest.raises(ValueError, match=match):
        threshold_explorer(y, s, show_curve=False)


# ---------------------------------------------------------------------------------------------------------------
def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_freeze_explorer_toggles_blocks_and_counts() -> None:
    model = course_cnn(num_classes=5)
    total = sum(p.numel() for p in model.parameters())
    ex = freeze_explorer(model)
    assert list(ex.checkboxes) == [name for name, _ in blocks(model)] == ["features.0", "features.1", "features.2", "fc"]
    assert all(cb.value for cb in ex.checkboxes.values())
    assert ex.state["trainable"] == total == ex.state["total"]

    ex.checkboxes["features.0"].value = False
    assert not any(p.requires_grad for p in model.features[0].parameters())
    assert ex.state["trainable"] == trainable(model) == total - sum(p.numel() for p in model.features[0].parameters())
    assert f"trainable parameters {trainable(model):,} of {total:,}" in ex.summary_html.value

    ex.head_only_button.click()
    assert trainable(model) == sum(p.numel() for p in model.fc.parameters())
    assert [cb.value for cb in ex.checkboxes.values()] == [False, False, False, True]

    ex.checkboxes["features.2"].value = True
    assert all(p.requires_grad for p in model.features[2].parameters())
    assert f"trainable parameters {trainable(model):,}" in ex.summary_html.value

    ex.all_button.click()
    assert trainable(model) == total

    freeze(model)  # changed elsewhere: refresh() re-reads the model
    ex.refresh()
    assert not any(cb.value for cb in ex.checkboxes.values()) and "trainable parameters 0 of" in ex.summary_html.value
    assert "trainable parameters 0 of" in ex._repr_mimebundle_()["text/plain"]


def test_freeze_explorer_on_a_torchvision_model() -> None:
    from torchvision.models import resnet18

    model = resnet18(weights=None, num_classes=3)
    ex = freeze_explorer(model)
    assert list(ex.checkboxes) == ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"]
    ex.checkboxes["layer4"].value = False
    assert ex.state["blocks"]["layer4"]["trainable_params"] == 0
    assert ex.state["trainable"] == trainable(model)
    with pytest.raises(TypeError, match="nn.Module"):
        freeze_explorer("resnet18")


# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_widgets_in_a_headless_notebook_run(tmp_path) -> None:
    """nbclient runs the cells like `nbgrader` does: no error, nothing on stderr, and readable output."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import numpy as np\n"
            "from course_lib.widgets import threshold_explorer, freeze_explorer\n"
            "from course_lib import course_cnn\n"
            "y = np.array([0, 0, 1, 1, 0, 1]); s = np.array([0.1, 0.6, 0.4, 0.9, 0.2, 0.7])\n"
            "ex = threshold_explorer(y, s)\n"
            "ex"
        ),
        nbformat.v4.new_code_cell("ex.slider.value = 0.3\nprint(ex.state['recall'])"),
        nbformat.v4.new_code_cell("freeze_explorer(course_cnn(num_classes=2))"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells for o in c.outputs]
    assert not [o for o in outputs if o.get("name") == "stderr" or o.output_type == "error"], outputs
    first = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in first
    assert "precision 0.67" in first["text/html"] and "TP 2" in first["text/html"]
    assert nb.cells[1].outputs[0]["text"].strip() == "1.0"
    assert "trainable parameters" in nb.cells[2].outputs[0]["data"]["text/html"]
