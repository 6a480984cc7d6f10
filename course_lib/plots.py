"""Figures that explain a verdict: confusion matrix, training curves, precision-recall curve, reliability
diagram, worst mistakes.

Every function returns the matplotlib ``Figure`` and never calls ``plt.show()`` (Jupyter shows a returned
figure by itself). Functions that fit in one Axes take ``ax=None``: pass an Axes to draw into your own
layout. All numbers come from :mod:`course_lib.metrics`.

Examples
--------
>>> fig = plot_confusion_matrix([0, 1, 1, 0], [0, 1, 0, 0], class_names=["good", "defect"])
>>> fig.axes[0].get_xlabel()
'Predicted label'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib import metrics as M
from course_lib._display import enable_inline_figures

__all__ = [
    "plot_confusion_matrix",
    "plot_history",
    "plot_precision_recall",
    "plot_reliability",
    "plot_worst_mistakes",
    "plot_samples",
    "plot_lr_sensitivity",
]

enable_inline_figures()  # a returned Figure shows as a picture in Jupyter, even without %matplotlib inline

_NORMALIZE = (None, "true", "pred", "all")


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    # Figure() rather than plt.figure(): nothing is registered with pyplot, so nothing piles up in memory
    # and nothing is shown twice in Jupyter.
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}.")
    return ax.figure, ax


def _np(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (np.ndarray, list, tuple, range)):
        return np.asarray(x)
    raise TypeError(f"{name} must be a list, NumPy array or torch tensor, got {type(x).__name__}.")


# ---------------------------------------------------------------------------------------------------------------
def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    class_names: Sequence[str] | None = None,
    normalize: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw the confusion matrix: rows are true classes, columns predicted classes.

    Parameters
    ----------
    y_true, y_pred : array-like of int
    class_names : sequence of str, optional
        Names for labels ``0..K-1`` (all of them are shown, even classes absent from the data).
    normalize : {None, "true", "pred", "all"}
        ``None`` shows counts; ``"true"`` divides each row by its total (so the diagonal is each class's
        recall) and shows the count below each fraction; ``"pred"`` divides columns, ``"all"`` the total.
    ax : Axes, optional

    Examples
    --------
    >>> fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], normalize="true")
    """
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}.")
    yt, yp = _np(y_true, "y_true"), _np(y_pred, "y_pred")
    if yt.ndim != 1 or yt.shape != yp.shape or yt.size == 0:
        raise ValueError(
            f"y_true and y_pred must be 1-D label arrays of the same, non-zero length; got shapes {yt.shape} "
            f"and {yp.shape}. If y_pred holds probabilities, take probs.argmax(1) first."
        )
    present = sorted(set(np.unique(yt).tolist()) | set(np.unique(yp).tolist()))
    if class_names is not None:
        if any(not 0 <= v < len(class_names) for v in present):
            raise ValueError(
                f"class_names has {len(class_names)} names, but the labels present are {present}; "
                "give one name per class, for labels 0, 1, 2, ..."
            )
        labels = list(range(len(class_names)))
        names = [str(c) for c in class_names]
    else:
        labels, names = present, [str(v) for v in present]
    counts = np.asarray(M.confusion_matrix(yt, yp, labels=labels))
    shown = counts if normalize is None else np.asarray(M.confusion_matrix(yt, yp, labels=labels, normalize=normalize))

    k = len(labels)
    side = max(3.2, 0.55 * k + 1.8)
    fig, ax = _new_axes(ax, (side + 0.8, side))
    vmax = 1.0 if normalize is not None else max(1, int(counts.max()))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="count" if normalize is None else "fraction")
    font = 11 if k <= 4 else 9 if k <= 8 else 7
    for i in range(k):
        for j in range(k):
            value = shown[i, j]
            text = f"{int(value)}" if normalize is None else f"{value:.2f}\n({int(counts[i, j])})"
            dark = value / vmax > 0.5
            ax.text(j, i, text, ha="center", va="center", fontsize=font, color="white" if dark else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(len(n) for n in names) > 4 else 0, ha="right" if
                  max(len(n) for n in names) > 4 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    what = {None: "counts", "true": "each row sums to 1 (diagonal = recall)",
            "pred": "each column sums to 1 (diagonal = precision)", "all": "fractions of all samples"}[normalize]
    ax.set_title(f"Confusion matrix ({what})", fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------------------------
def _history_table(history: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    records = getattr(history, "records", None)
    if records is None and isinstance(history, Sequence) and history and isinstance(history[0], dict):
        records = list(history)
    if records is None:
        raise TypeError(
            f"history must be a course_lib.training.History (or a list of per-epoch dicts), got {type(history).__name__}."
        )
    if not records:
        raise ValueError("The history is empty: train for at least one epoch before plotting it.")
    if "train_loss" not in records[0]:
        raise ValueError("The history records have no 'train_loss'; pass the History returned by fit/fine_tune.")
    starts: dict[str, int] = {}
    for i, r in enumerate(records):
        starts.setdefault(str(r.get("stage", "train")), i)
    return records, starts


def plot_history(history: Any, *, ax: Axes | Sequence[Axes] | None = None) -> Figure:
    """Training curves of a ``History``: loss (left) and accuracy (right), training vs validation.

    With the two-stage recipe (head first, then the unfrozen body) each stage is shaded and the point
    where the body was unfrozen is marked with a dashed line; a star marks the epoch with the lowest
    validation loss.

    Parameters
    ----------
    history : History or list of per-epoch dicts
    ax : Axes or pair of Axes, optional
        One Axes draws the losses only; two draw losses and accuracies. By default a new figure with two.

    Examples
    --------
    >>> recs = [dict(epoch=i, stage="head", train_loss=1 / (i + 1), train_acc=0.5, val_loss=1 / (i + 1),
    ...              val_acc=0.5) for i in range(3)]
    >>> fig = plot_history(recs)
    >>> [a.get_ylabel() for a in fig.axes]
    ['loss', 'accuracy']
    """
    records, starts = _history_table(history)
    if ax is None:
        fig = Figure(figsize=(10, 3.6), layout="constrained")
        axes = list(fig.subplots(1, 2))
    elif isinstance(ax, Axes):
        fig, axes = ax.figure, [ax]
    elif isinstance(ax, Sequence) and 1 <= len(ax) <= 2 and all(isinstance(a, Axes) for a in ax):
        fig, axes = ax[0].figure, list(ax)
    else:
        raise TypeError("ax must be None, one matplotlib Axes, or a pair of Axes (loss, accuracy).")

    x = np.arange(len(records))

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else float(r[key]) for r in records], dtype=float)

    panels = [("loss", "train_loss", "val_loss"), ("accuracy", "train_acc", "val_acc")][: len(axes)]
    val_loss = column("val_loss")
    best = int(np.nanargmin(val_loss)) if np.isfinite(val_loss).any() else None
    shades = ["#f3f6fb", "#fbf5ec", "#eef7ee", "#f7eef7"]
    stage_list = sorted(starts.items(), key=lambda kv: kv[1])
    for a, (label, train_key, val_key) in zip(axes, panels, strict=False):
        a.plot(x, column(train_key), "o-", ms=3, color="#1f77b4", label="training")
        if np.isfinite(column(val_key)).any():
            a.plot(x, column(val_key), "s-", ms=3, color="#d62728", label="validation")
        for s, (name, start) in enumerate(stage_list):
            end = stage_list[s + 1][1] if s + 1 < len(stage_list) else len(records)
            a.axvspan(start - 0.5, end - 0.5, color=shades[s % len(shades)], zorder=0)
            a.text((start + end - 1) / 2, 1.01, f"stage '{name}'", transform=a.get_xaxis_transform(),
                   ha="center", va="bottom", fontsize=8, color="#555")
            if s > 0:
                a.axvline(start - 0.5, color="k", ls="--", lw=1.2, label=f"unfreeze ('{name}' starts)" if s == 1 else None)
        if best is not None:
            y_best = column(val_key)[best]
            if np.isfinite(y_best):
                a.plot([best], [y_best], marker="*", ms=13, color="#ff7f0e", ls="none",
                       label=f"lowest val loss (epoch {records[best].get('epoch', best)})")
        a.set_xlabel("epoch")
        a.set_ylabel(label)
        a.set_xlim(-0.5, len(records) - 0.5)
        if label == "accuracy":
            a.set_ylim(0, 1.02)
        a.grid(alpha=0.3)
        a.legend(fontsize=8, loc="best")
    # integer epoch ticks, labelled with the history's own epoch numbers
    step = max(1, math.ceil(len(records) / 12))
    for a in axes:
        a.set_xticks(x[::step], [str(records[i].get("epoch", i)) for i in x[::step]])
    return fig


# ---------------------------------------------------------------------------------------------------------------
def plot_precision_recall(
    y_true: Any,
    scores: Any,
    *,
    threshold: float | None = None,
    pos_label: int = 1,
    ax: Axes | None = None,
) -> Figure:
    """Precision-recall curve with the current operating point (the decision threshold) marked.

    The shaded corner is where both precision and recall exceed 0.8 (the course's "good" zone); the dashed
    line is the precision of a model that flags everything (the share of positives).

    Parameters
    ----------
    y_true : array-like of int
    scores : array-like of float
        The model's score for the positive class.
    threshold : float, optional
        Scores at or above it count as positive. Default 0.5 for scores in [0, 1], else 0.
    pos_label : int
    ax : Axes, optional

    Examples
    --------
    >>> fig = plot_precision_recall([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], threshold=0.5)
    >>> fig.axes[0].get_xlabel()
    'recall'
    """
    yt, s = _np(y_true, "y_true"), _np(scores, "scores").astype(float)
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, pos_label]
    if yt.ndim != 1 or s.shape != yt.shape or yt.size == 0:
        raise ValueError(
            f"y_true and scores must be 1-D with the same, non-zero length; got {yt.shape} and {s.shape}. "
            "Pass one score per sample (the positive class's probability)."
        )
    n_pos = int(np.sum(yt == pos_label))
    if n_pos == 0:
        raise ValueError(f"y_true has no sample of the positive class pos_label={pos_label}: recall is undefined.")
    if threshold is None:
        threshold = 0.5 if (s.min() >= 0 and s.max() <= 1) else 0.0
    precision, recall, _ = (np.asarray(a, dtype=float) for a in M.precision_recall_curve(yt, s, pos_label=pos_label))
    ap = float(-np.sum(np.diff(recall) * precision[:-1]))
    point = M.metrics_at_threshold(yt, s, float(threshold), pos_label=pos_label)

    fig, ax = _new_axes(ax, (5.2, 4.6))
    ax.axvspan(0.8, 1.02, ymin=(0.8 + 0.02) / 1.04, ymax=1, color="#e5f3e5", zorder=0, label="good zone (P, R > 0.8)")
    ax.step(recall, precision, where="post", color="#1f77b4", lw=2, label=f"model (average precision {ap:.2f})")
    prevalence = n_pos / yt.size
    ax.axhline(prevalence, color="gray", ls="--", lw=1, label=f"flag everything (precision {prevalence:.2f})")
    ax.plot([point["recall"]], [point["precision"]], "o", ms=10, color="#d62728", zorder=5,
            label=f"threshold {float(threshold):.2f}: precision {point['precision']:.2f}, recall {point['recall']:.2f}")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall curve", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return fig


# ---------------------------------------------------------------------------------------------------------------
def plot_reliability(
    y_true: Any,
    y_prob: Any,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
    pos_label: Any = None,
    label: str = "model",
    ax: Axes | None = None,
) -> Figure:
    """Reliability diagram: in each bin of scores, the share of positives against the mean score.

    A calibrated model's points lie on the diagonal; points below it mean the scores are too high (the model
    says 30% where 10% are positive). The legend gives the mean score, to read against the dashed line at the
    share of positives (the base rate), and the expected calibration error. Call it again with the same ``ax``
    to draw several models into one diagram. Points come from
    :func:`course_lib.metrics.calibration_curve` (same bins as scikit-learn's).

    Parameters
    ----------
    y_true : array-like of int
    y_prob : array-like of float in [0, 1]
        The positive class's probability.
    n_bins : int
    strategy : {"uniform", "quantile"}
        Bins of equal width, or bins holding equally many samples (better when most scores are near 0).
    pos_label : int or str, optional
        The positive class (default 1, for 0/1 labels).
    label : str
        The model's name in the legend.
    ax : Axes, optional

    Examples
    --------
    >>> fig = plot_reliability([0, 0, 1, 1, 0, 1], [0.1, 0.3, 0.8, 0.6, 0.7, 0.9], n_bins=2, label="toy")
    >>> fig.axes[0].get_xlabel()
    'mean predicted probability (per bin)'
    """
    prob_true, prob_pred = M.calibration_curve(y_true, y_prob, pos_label=pos_label, n_bins=n_bins,
                                               strategy=strategy)
    ece = M.expected_calibration_error(y_true, y_prob, pos_label=pos_label, n_bins=n_bins, strategy=strategy)
    yt, p = _np(y_true, "y_true"), _np(y_prob, "y_prob").astype(float)
    positive = (yt == (1 if pos_label is None else pos_label))
    fig, ax = _new_axes(ax, (5.2, 4.6))
    labels = [ln.get_label() for ln in ax.get_lines()]
    if "perfectly calibrated" not in labels:
        ax.plot([0, 1], [0, 1], ls=":", color="gray", lw=1, label="perfectly calibrated")
    rate_label = f"share of positives {positive.mean():.3f}"
    if rate_label not in labels:
        ax.axhline(positive.mean(), color="gray", ls="--", lw=1, label=rate_label)
    ax.plot(prob_pred, prob_true, "o-", ms=5, lw=1.5,
            label=f"{label} (mean score {p.mean():.3f}, ECE {ece:.3f})")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("mean predicted probability (per bin)")
    ax.set_ylabel("share of positives (per bin)")
    ax.set_title(f"Reliability diagram ({n_bins} {strategy} bins)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig


# ---------------------------------------------------------------------------------------------------------------
def _image_tensor(images: Any) -> torch.Tensor:
    x = getattr(images, "images", images)
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"images must be an ImageDataset or a tensor N x C x H x W, got {type(images).__name__}.")
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be shaped N x C x H x W with C = 1 or 3, got {tuple(x.shape)}.")
    return x.detach().cpu().float()


def _tile(img: torch.Tensor) -> tuple[np.ndarray, str | None]:
    img = img.clamp(0, 1)
    if img.shape[0] == 1:
        return img[0].numpy(), "gray"
    return img.permute(1, 2, 0).numpy(), None


def plot_worst_mistakes(
    images: Any,
    y_true: Any,
    y_pred: Any,
    losses: Any,
    *,
    class_names: Sequence[str] | None = None,
    n: int = 12,
    ncols: int = 6,
) -> Figure:
    """Show the ``n`` misclassified images the model was most sure about (highest loss).

    Parameters
    ----------
    images : ImageDataset or tensor N x C x H x W
    y_true, y_pred : array-like of int, shape (N,)
    losses : array-like, shape (N,) or (N, K)
        Per-sample losses, or class probabilities (then the loss is ``-log p[true class]``).
    class_names : sequence of str, optional
    n, ncols : int
        How many mistakes, and how many per row.

    Examples
    --------
    >>> x = torch.rand(4, 3, 8, 8)
    >>> fig = plot_worst_mistakes(x, [0, 1, 1, 0], [0, 0, 1, 1], [0.1, 2.0, 0.2, 0.9], class_names=["a", "b"])
    >>> len([a for a in fig.axes if a.get_images()])
    2
    """
    x = _image_tensor(images)
    if class_names is None:
        class_names = getattr(images, "classes", None)
    yt, yp, lo = _np(y_true, "y_true"), _np(y_pred, "y_pred"), _np(losses, "losses").astype(float)
    N = x.shape[0]
    if yt.shape != (N,) or yp.shape != (N,):
        raise ValueError(f"y_true and y_pred need one label per image ({N}), got {yt.shape} and {yp.shape}.")
    if lo.ndim == 2:
        if lo.shape[0] != N:
            raise ValueError(f"probabilities must be shaped N x K with N = {N}, got {lo.shape}.")
        lo = -np.log(np.clip(lo[np.arange(N), yt], 1e-12, 1.0))
    elif lo.shape != (N,):
        raise ValueError(f"losses must hold one value per image ({N}) or N x K probabilities, got {lo.shape}.")
    if not isinstance(n, int) or n < 1 or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"n and ncols must be positive integers, got n={n!r}, ncols={ncols!r}.")

    wrong = np.flatnonzero(yt != yp)
    order = wrong[np.argsort(-lo[wrong], kind="stable")][:n]

    def name(label: int) -> str:
        return str(class_names[label]) if class_names is not None and 0 <= label < len(class_names) else str(label)

    if order.size == 0:
        fig, ax = _new_axes(None, (4, 1.5))
        ax.text(0.5, 0.5, f"No mistakes among {N} images.", ha="center", va="center", fontsize=11)
        ax.set_axis_off()
        return fig
    cols = min(ncols, order.size)
    rows = math.ceil(order.size / cols)
    fig = Figure(figsize=(1.75 * cols, 2.05 * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for a in axes:
        a.set_axis_off()
    for a, i in zip(axes, order, strict=False):
        tile, cmap = _tile(x[i])
        a.imshow(tile, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        a.set_title(f"true: {name(int(yt[i]))}\npred: {name(int(yp[i]))}\nloss {lo[i]:.2f}", fontsize=8,
                    color="#b3261e")
    fig.suptitle(f"The {order.size} worst mistakes (highest loss) of {wrong.size} errors in {N} images", fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------------------------
def plot_samples(
    dataset: Any,
    n: int = 16,
    *,
    ax: Axes | None = None,
    indices: Any = None,
    ncols: int | None = None,
) -> Figure:
    """A grid of labelled sample images (every class shown first, round-robin).

    ``dataset`` is an ``ImageDataset`` (this is :meth:`ImageDataset.show`), or a tensor of images
    N x C x H x W (then shown without labels). With ``ax`` the grid is one mosaic in that Axes.

    Examples
    --------
    >>> fig = plot_samples(torch.rand(4, 3, 8, 8), 4)
    """
    from course_lib.data import ImageDataset, show_samples

    if not isinstance(dataset, ImageDataset):
        x = _image_tensor(dataset)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        dataset = ImageDataset(x.clamp(0, 1).contiguous(), torch.zeros(x.shape[0], dtype=torch.int64), [""],
                               name="images")
    return show_samples(dataset, n, ax=ax, indices=indices, ncols=ncols)


# ---------------------------------------------------------------------------------------------------------------
def plot_lr_sensitivity(results: Any, regime: str = "small", *, ax: Sequence[Axes] | None = None) -> Figure:
    """Accuracy against learning rate, one line per recipe: how much does each recipe care about its rate?

    ``results`` is the dict in ``course_lib/training/results/transfer.json`` (or its path). Left: validation accuracy
    (what the rate was chosen on; the ring marks the choice); right: out-of-distribution test accuracy at the
    same rates. Each point is the mean over the file's tuning seeds.

    Examples
    --------
    >>> grid = [{"lr": lr, "val_accuracy": a, "ood_accuracy": a - 0.1} for lr, a in [(1e-3, 0.8), (1e-2, 0.9)]]
    >>> res = {"regimes": {"small": {"recipes": {"full": {"grid": grid, "chosen_lr": 1e-2}}}}}
    >>> [a.get_xscale() for a in plot_lr_sensitivity(res).axes]
    ['log', 'log']
    """
    if isinstance(results, (str, bytes)) or hasattr(results, "read_text"):
        import json
        from pathlib import Path

        results = json.loads(Path(results).read_text())
    if not isinstance(results, dict) or "regimes" not in results:
        raise TypeError("results must be the dict of course_lib/training/results/transfer.json (or its path).")
    if regime not in results["regimes"]:
        raise ValueError(f"Unknown regime {regime!r}; the file has {', '.join(results['regimes'])}.")
    recipes = {k: v for k, v in results["regimes"][regime]["recipes"].items() if v.get("grid")}
    if ax is None:
        fig = Figure(figsize=(9, 3.4), layout="constrained")
        axes = list(fig.subplots(1, 2, sharey=True))
    else:
        axes = list(ax)
        if len(axes) != 2 or not all(isinstance(a, Axes) for a in axes):
            raise TypeError("ax must be a pair of matplotlib Axes (validation, out-of-distribution) or None.")
        fig = axes[0].figure
    for a, key, title in zip(axes, ("val_accuracy", "ood_accuracy"),
                             ("validation accuracy (used to choose)", "out-of-distribution test accuracy"), strict=True):
        for name, rec in recipes.items():
            lrs = [p["lr"] for p in rec["grid"]]
            accs = [p[key] for p in rec["grid"]]
            (line,) = a.plot(lrs, accs, marker="o", ms=4, label=name)
            chosen = [p[key] for p in rec["grid"] if p["lr"] == rec.get("chosen_lr")]
            if chosen:
                a.plot([rec["chosen_lr"]], chosen, marker="o", ms=11, mfc="none", color=line.get_color())
        a.set_xscale("log")
        a.set_xlabel("learning rate (head's; AdamW)")
        a.set_title(title, fontsize=10)
        a.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(fontsize=8)
    return fig
