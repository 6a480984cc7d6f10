"""course_lib.plots: every figure builds, returns a Figure, carries the expected axes and labels, and
shows the numbers scikit-learn computes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sklearn.metrics as skm  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import plots  # noqa: E402
from course_lib.data import ImageDataset  # noqa: E402
from course_lib.training import History  # noqa: E402

NAMES = ["heart", "arrow", "crescent"]


@pytest.fixture(autouse=True)
def _no_figures_left_open():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a plot function left a pyplot figure open (Jupyter would show it twice)"


def cell_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def two_stage_history(n_head: int = 4, n_body: int = 6) -> History:
    h = History()
    for e in range(n_head + n_body):
        h.append(epoch=e, stage="head" if e < n_head else "body", train_loss=1.0 / (e + 1),
                 train_acc=min(1.0, 0.5 + 0.05 * e), val_loss=1.0 / (e + 1) + 0.02 * max(0, e - 6) ** 2,
                 val_acc=min(1.0, 0.45 + 0.04 * e), lr=1e-3, seconds=0.1)
    return h


# ---------------------------------------------------------------------------------------------------------------
def test_confusion_matrix_counts_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 60)
    y_pred = np.where(rng.random(60) < 0.7, y_true, rng.integers(0, 3, 60))
    fig = plots.plot_confusion_matrix(y_true, y_pred, class_names=NAMES)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES
    ref = skm.confusion_matrix(y_true, y_pred)
    assert cell_texts(ax) == [str(v) for v in ref.ravel()]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), ref)


def test_confusion_matrix_row_normalised() -> None:
    y_true = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 0, 2, 2, 1, 2]
    fig = plots.plot_confusion_matrix(y_true, y_pred, class_names=NAMES, normalize="true")
    ax = fig.axes[0]
    ref = skm.confusion_matrix(y_true, y_pred, normalize="true")
    np.testing.assert_allclose(ax.get_images()[0].get_array(), ref)
    counts = skm.confusion_matrix(y_true, y_pred)
    assert cell_texts(ax) == [f"{f:.2f}\n({c})" for f, c in zip(ref.ravel(), counts.ravel(), strict=True)]
    assert "recall" in ax.get_title()


def test_confusion_matrix_into_given_axes_and_errors() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.plot_confusion_matrix([0, 1], [0, 1], ax=ax) is fig
    with pytest.raises(ValueError, match="normalize"):
        plots.plot_confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match="same"):
        plots.plot_confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="class_names"):
        plots.plot_confusion_matrix([0, 5], [0, 5], class_names=NAMES)
    with pytest.raises(TypeError, match="Axes"):
        plots.plot_confusion_matrix([0, 1], [0, 1], ax="left")


# ---------------------------------------------------------------------------------------------------------------
def test_history_plot_marks_both_stages_and_the_unfreeze_point() -> None:
    h = two_stage_history()
    fig = plots.plot_history(h)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert loss_ax.get_xlabel() == "epoch"
    labels = [ln.get_label() for ln in loss_ax.get_lines()]
    assert "training" in labels and "validation" in labels
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), h["train_loss"])
    np.testing.assert_allclose(loss_ax.get_lines()[1].get_ydata(), h["val_loss"])
    # the unfreeze line sits between the last head epoch and the first body epoch
    unfreeze = [ln for ln in loss_ax.get_lines() if ln.get_label().startswith("unfreeze")]
    assert len(unfreeze) == 1 and unfreeze[0].get_xdata()[0] == pytest.approx(h.stage_starts()["body"] - 0.5)
    texts = cell_texts(loss_ax)
    assert "stage 'head'" in texts and "stage 'body'" in texts
    best = [ln for ln in loss_ax.get_lines() if ln.get_label().startswith("lowest val loss")]
    assert best and best[0].get_xdata()[0] == int(np.argmin(h["val_loss"]))


def test_history_plot_single_stage_and_one_axes() -> None:
    h = History()
    for e in range(3):
        h.append(epoch=e, stage="full", train_loss=1.0 - 0.1 * e, train_acc=0.5, val_loss=None, val_acc=None,
                 lr=0.01, seconds=0.1)
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.plot_history(h, ax=ax) is fig
    assert not [ln for ln in ax.get_lines() if ln.get_label().startswith("unfreeze")]
    assert [ln.get_label() for ln in ax.get_lines()] == ["training"]  # no validation recorded
    with pytest.raises(ValueError, match="empty"):
        plots.plot_history(History())
    with pytest.raises(TypeError, match="History"):
        plots.plot_history({"train_loss": [1.0]})


# ---------------------------------------------------------------------------------------------------------------
def test_precision_recall_curve_and_operating_point() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(int)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.15), 0, 1)
    fig = plots.plot_precision_recall(y, s, threshold=0.45)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "recall" and ax.get_ylabel() == "precision"
    p, r, _ = skm.precision_recall_curve(y, s)
    curve = next(ln for ln in ax.get_lines() if ln.get_label().startswith("model"))
    np.testing.assert_allclose(curve.get_xdata(), r)
    np.testing.assert_allclose(curve.get_ydata(), p)
    assert f"{skm.average_precision_score(y, s):.2f}" in curve.get_label()
    point = next(ln for ln in ax.get_lines() if ln.get_label().startswith("threshold"))
    pred = (s >= 0.45).astype(int)
    assert point.get_xdata()[0] == pytest.approx(skm.recall_score(y, pred))
    assert point.get_ydata()[0] == pytest.approx(skm.precision_score(y, pred))
    chance = next(ln for ln in ax.get_lines() if ln.get_label().startswith("flag everything"))
    assert chance.get_ydata()[0] == pytest.approx(y.mean())
    with pytest.raises(ValueError, match="positive class"):
        plots.plot_precision_recall([0, 0], [0.1, 0.2])


# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_diagram_shows_sklearns_calibration_curve(strategy, tmp_path) -> None:
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(2)
    y = (rng.random(400) < 0.1).astype(int)
    p = np.clip(rng.beta(1 + 3 * y, 6), 0, 1)
    fig = plots.plot_reliability(y, p, n_bins=8, strategy=strategy, label="balanced")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "mean predicted probability (per bin)"
    assert ax.get_ylabel() == "share of positives (per bin)"
    prob_true, prob_pred = calibration_curve(y, p, n_bins=8, strategy=strategy)
    curve = next(ln for ln in ax.get_lines() if ln.get_label().startswith("balanced"))
    np.testing.assert_allclose(curve.get_xdata(), prob_pred)
    np.testing.assert_allclose(curve.get_ydata(), prob_true)
    assert f"mean score {p.mean():.3f}" in curve.get_label()
    counts = np.bincount(np.searchsorted((np.percentile(p, np.linspace(0, 100, 9)) if strategy == "quantile"
                                          else np.linspace(0, 1, 9))[1:-1], p), minlength=8)
    ece = np.sum(counts[counts > 0] * np.abs(prob_true - prob_pred)) / len(y)
    assert f"ECE {ece:.3f}" in curve.get_label()
    rate = next(ln for ln in ax.get_lines() if ln.get_label().startswith("share of positives"))
    assert rate.get_ydata()[0] == pytest.approx(y.mean())
    # a second model into the same Axes: one more curve, the diagonal and the base rate drawn once
    assert plots.plot_reliability(y, p ** 2, n_bins=8, strategy=strategy, label="other", ax=ax) is fig
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels.count("perfectly calibrated") == 1 and sum(lb.startswith("share of") for lb in labels) == 1
    assert sum(lb.startswith(("balanced", "other")) for lb in labels) == 2
    fig.savefig(tmp_path / "reliability.png")


def test_reliability_diagram_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plots.plot_reliability([0, 1, 0], [0.2, 1.4, 0.1])
    with pytest.raises(ValueError, match="strategy"):
        plots.plot_reliability([0, 1, 0], [0.2, 0.4, 0.1], strategy="equal")
    with pytest.raises(TypeError, match="Axes"):
        plots.plot_reliability([0, 1, 0], [0.2, 0.4, 0.1], ax="left")


# ---------------------------------------------------------------------------------------------------------------
def test_worst_mistakes_are_the_highest_losses() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(30, 3, 16, 16, generator=g)
    probs = torch.softmax(3 * torch.randn(30, 3, generator=g), 1)
    y_true = torch.randint(0, 3, (30,), generator=g)
    y_pred = probs.argmax(1)
    fig = plots.plot_worst_mistakes(x, y_true, y_pred, probs, class_names=NAMES, n=5)
    shown = [a for a in fig.axes if a.get_images()]
    assert len(shown) == 5
    loss = torch.nn.functional.nll_loss(probs.log(), y_true, reduction="none").numpy()
    wrong = np.flatnonzero(y_true.numpy() != y_pred.numpy())
    expected = wrong[np.argsort(-loss[wrong])][:5]
    for a, i in zip(shown, expected, strict=True):
        title = a.get_title()
        assert f"true: {NAMES[y_true[i]]}" in title and f"pred: {NAMES[y_pred[i]]}" in title
        assert f"loss {loss[i]:.2f}" in title
        np.testing.assert_allclose(a.get_images()[0].get_array(), x[i].permute(1, 2, 0).numpy(), atol=1e-6)
    # per-sample losses give the same picture as probabilities
    fig2 = plots.plot_worst_mistakes(x, y_true, y_pred, loss, class_names=NAMES, n=5)
    assert [a.get_title() for a in fig2.axes if a.get_images()] == [a.get_title() for a in shown]


def test_worst_mistakes_without_mistakes_and_bad_input() -> None:
    x = torch.rand(4, 1, 8, 8)
    fig = plots.plot_worst_mistakes(x, [0, 1, 0, 1], [0, 1, 0, 1], [0.1, 0.2, 0.1, 0.3])
    assert "No mistakes" in fig.axes[0].texts[0].get_text()
    with pytest.raises(ValueError, match="one value per image"):
        plots.plot_worst_mistakes(x, [0, 1, 0, 1], [1, 1, 0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="one label per image"):
        plots.plot_worst_mistakes(x, [0, 1], [1, 1], [0.1, 0.2])


# ---------------------------------------------------------------------------------------------------------------
def test_samples_grid_from_dataset_and_tensor() -> None:
    ds = ImageDataset(torch.rand(12, 3, 8, 8), [0, 1, 2] * 4, NAMES, name="toy")
    fig = plots.plot_samples(ds, 6)
    shown = [a for a in fig.axes if a.get_images()]
    assert len(shown) == 6
    assert {a.get_title() for a in shown} == set(NAMES)  # every class appears
    fig2 = plots.plot_samples(torch.rand(5, 3, 8, 8), 5)
    assert len([a for a in fig2.axes if a.get_images()]) == 5
    one = Figure().add_subplot()
    assert plots.plot_samples(ds, 4, ax=one) is one.figure
    assert len(one.get_images()) == 1


def test_all_figures_render_to_png(tmp_path) -> None:
    """Drawing for real (not just building artists) must not fail either."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 50)
    s = rng.random(50)
    figs = [
        plots.plot_confusion_matrix(y, (s > 0.5).astype(int), class_names=["ok", "defect"], normalize="true"),
        plots.plot_history(two_stage_history()),
        plots.plot_precision_recall(y, s),
        plots.plot_worst_mistakes(torch.rand(50, 3, 8, 8), y, (s > 0.5).astype(int), rng.random(50)),
    ]
    for k, fig in enumerate(figs):
        path = tmp_path / f"{k}.png"
        fig.savefig(path)
        assert path.stat().st_size > 1000


def test_a_returned_figure_shows_as_a_picture_in_jupyter_without_matplotlib_inline(monkeypatch) -> None:
    """A real kernel, no %matplotlib inline: the returned Figure arrives as image/png, and only once."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("MPLBACKEND", raising=False)  # as in a learner's JupyterLab
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from course_lib.plots import plot_confusion_matrix\n"
                                  "plot_confusion_matrix([0, 1, 1], [0, 1, 0])"),
        nbformat.v4.new_code_cell("import torch\nfrom course_lib.data import ImageDataset\n"
                                  "ImageDataset(torch.rand(4, 3, 8, 8), [0, 1, 0, 1], ['a', 'b']).show(4)"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    for cell in nb.cells:
        pictures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pictures) == 1, f"expected one picture, got outputs {[o.get('data', o).keys() for o in cell.outputs]}"
