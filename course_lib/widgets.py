"""Interactive explorers (ipywidgets) for the lessons: the decision threshold, and which blocks learn.

* :func:`threshold_explorer` - move the decision threshold and watch the confusion matrix, precision,
  recall, F1 and accuracy change; presets jump to a precision-first (defect inspection) or a recall-first
  (tumour screening) operating point.
* :func:`freeze_explorer` - tick which blocks of a model are trainable and see the trainable-parameter
  count change.

Both return an ``ipywidgets.VBox`` subclass whose parts are attributes (``.slider``, ``.summary_html``, ...)
and whose ``.state`` is a plain dict, so tests and notebooks can drive them without a browser (set
``explorer.slider.value = 0.3``, then read ``explorer.state``). Numbers are shown as plain text in
``ipywidgets.HTML`` values (e.g. ``precision 0.89``); when the notebook is run headless (nbclient,
nbconvert) the output also carries an HTML snapshot of the current state.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import ipywidgets as widgets
import numpy as np
from torch import nn

from course_lib import metrics as M
from course_lib.diagnostics import RULE_TOL, verdict_from_scores

__all__ = ["ThresholdExplorer", "threshold_explorer", "FreezeExplorer", "freeze_explorer", "PRESETS"]

#: preset button label -> (metric it guarantees, the minimum value it asks for)
PRESETS: dict[str, tuple[str, float]] = {
    "defect inspection (precision)": ("precision", 0.90),
    "tumour screening (recall)": ("recall", 0.95),
}


def _as_1d(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array (one value per sample), got shape {a.shape}.")
    return a


class ThresholdExplorer(widgets.VBox):
    """A threshold slider with live metrics; build it with :func:`threshold_explorer`.

    Attributes
    ----------
    slider : ipywidgets.FloatSlider
        The decision threshold: a score at or above it counts as positive.
    summary_html : ipywidgets.HTML
        ``threshold 0.50 | precision 0.89 | recall 0.80 | F1 0.84 | accuracy 0.85`` and the verdict.
    matrix_html : ipywidgets.HTML
        The 2 x 2 confusion matrix at the current threshold.
    preset_buttons : dict of str to ipywidgets.Button
    curve : ipywidgets.Image or None
        Precision-recall curve with the operating point (PNG), when ``show_curve``.
    state : dict
        ``threshold, tp, fp, fn, tn, accuracy, precision, recall, f1, verdict``.
    """

    def __init__(
        self,
        y_true: Any,
        scores: Any,
        *,
        pos_label: int = 1,
        threshold: float | None = None,
        class_names: tuple[str, str] | None = None,
        show_curve: bool = True,
    ) -> None:
        yt = _as_1d(y_true, "y_true")
        s = _as_1d(scores, "scores").astype(float)
        if yt.shape != s.shape:
            raise ValueError(f"y_true and scores must have the same length, got {yt.size} and {s.size}.")
        if not np.all(np.isfinite(s)):
            raise ValueError("scores contains NaN or infinite values; check the model's outputs.")
        labels = set(np.unique(yt).tolist())
        if len(labels - {pos_label}) > 1:
            raise ValueError(
                f"threshold_explorer is for two classes, but y_true holds {sorted(labels)}. "
                "Turn it into 'positive vs rest' first, e.g. y_true == k, with scores = probs[:, k]."
            )
        n_pos = int(np.sum(yt == pos_label))
        if n_pos == 0 or n_pos == yt.size:
            raise ValueError(
                f"y_true needs both classes to explore a threshold; it has {n_pos} positives (pos_label={pos_label}) "
                f"out of {yt.size}."
            )
        self._y = (yt == pos_label).astype(np.int64)  # 1 = positive, from here on
        self._s = s
        self.pos_name, self.neg_name = (class_names or ("positive", "negative"))[:2]
        self._last_preset: str | None = None
        self._applying = False

        if s.min() < 0.0 or s.max() > 1.0:
            raise ValueError(
                f"scores must be probabilities between 0 and 1, but they run from {s.min():.3g} to {s.max():.3g}. "
                "Turn logits into probabilities first: torch.softmax(logits, 1)[:, 1] or torch.sigmoid(logit)."
            )
        start = 0.5 if threshold is None else threshold
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0.0 <= float(start) <= 1.0:
            raise ValueError(f"threshold must be a number between 0 and 1, got {threshold!r}.")
        self.slider = widgets.FloatSlider(
            value=float(start), min=0.0, max=1.0, step=0.01, description="threshold",
            continuous_update=True, readout=True, readout_format=".2f",
            style={"description_width": "initial"}, layout=widgets.Layout(width="420px"),
        )
        self.summary_html = widgets.HTML()
        self.matrix_html = widgets.HTML()
        self.preset_buttons = {
            name: widgets.Button(description=name, tooltip=f"jump to a threshold with {metric} >= {target:.2f}",
                                 layout=widgets.Layout(width="auto"))
            for name, (metric, target) in PRESETS.items()
        }
        for name, button in self.preset_buttons.items():
            button.on_click(lambda _b, name=name: self.apply_preset(name))

        self.curve = None
        self._fig = None
        if show_curve:
            self._init_curve()
        self.slider.observe(self._on_change, names="value")
        row = widgets.HBox([self.matrix_html, self.curve] if self.curve is not None else [self.matrix_html])
        super().__init__(
            [self.slider, widgets.HBox(list(self.preset_buttons.values())), self.summary_html, row]
        )
        self._update()

    # -- public API ----------------------------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """The metrics at the current threshold (a fresh dict)."""
        return dict(self._state)

    def set_threshold(self, value: float) -> None:
        """Move the slider (clipped to its range)."""
        self.slider.value = float(min(max(value, self.slider.min), self.slider.max))

    def apply_preset(self, name: str) -> float:
        """Move to the preset's operating point; returns the threshold chosen.

        ``"defect inspection (precision)"``: the lowest threshold whose precision is at least 0.90 (so recall
        is as high as that allows). ``"tumour screening (recall)"``: the highest threshold whose recall is at
        least 0.95 (so precision is as high as that allows). If the target cannot be met, the best available
        value of that metric is used.
        """
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; choose one of {list(PRESETS)}.")
        metric, target = PRESETS[name]
        precision, recall, thresholds = (np.asarray(a, dtype=float) for a in M.precision_recall_curve(self._y, self._s))
        precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
        if metric == "precision":
            ok = np.flatnonzero(precision >= target - RULE_TOL)
            i = ok[np.argmax(recall[ok])] if ok.size else int(np.argmax(precision))
        else:
            ok = np.flatnonzero(recall >= target - RULE_TOL)
            i = ok[np.argmax(precision[ok] + 1e-9 * thresholds[ok])] if ok.size else int(np.argmax(recall))
        t = float(thresholds[i])
        self._applying = True
        try:
            self.set_threshold(t)
        finally:
            self._applying = False
        self._last_preset = name
        self._update()
        return t

    # -- internals -----------------------------------------------------------------------------------------
    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._applying:
            self._last_preset = None  # moved by hand
        self._update()

    def _update(self) -> None:
        t = float(self.slider.value)
        m = M.metrics_at_threshold(self._y, self._s, t, pos_label=1)
        state = {k: (float(v) if k in ("threshold", "accuracy", "precision", "recall", "f1") else int(v))
                 for k, v in m.items() if k in ("threshold", "tp", "fp", "fn", "tn", "accuracy", "precision",
                                                "recall", "f1")}
        state["threshold"] = t
        state["verdict"] = verdict_from_scores(state["accuracy"], state["precision"], state["recall"], state["f1"])
        self._state = state
        self.summary_html.value = self._summary_html(state)
        self.matrix_html.value = self._matrix_html(state)
        if self.curve is not None:
            self._draw_point(state)

    def _summary_text(self, st: dict[str, Any]) -> str:
        return (f"threshold {st['threshold']:.2f} | precision {st['precision']:.2f} | recall {st['recall']:.2f} | "
                f"F1 {st['f1']:.2f} | accuracy {st['accuracy']:.2f} | verdict: {st['verdict']}")

    def _summary_html(self, st: dict[str, Any]) -> str:
        colour = {"good": "#1b7f3b", "needs work": "#b26a00", "bad": "#b3261e"}[st["verdict"]]
        flagged = st["tp"] + st["fp"]
        positives = st["tp"] + st["fn"]
        items = [f"threshold {st['threshold']:.2f}", f"precision {st['precision']:.2f}", f"recall {st['recall']:.2f}",
                 f"F1 {st['f1']:.2f}", f"accuracy {st['accuracy']:.2f}"]
        spans = " &nbsp;|&nbsp; ".join(f"<span class='course-metric'>{html.escape(i)}</span>" for i in items)
        preset = f" (preset: {html.escape(self._last_preset)})" if self._last_preset else ""
        return (
            f"<div class='course-threshold-summary' style='font-family:monospace;font-size:1.05em'>{spans}</div>"
            f"<div style='font-family:sans-serif'>verdict: <b style='color:{colour}'>{st['verdict']}</b>{preset}"
            f" &mdash; flagged {flagged} as {html.escape(self.pos_name)}: {st['tp']} right, {st['fp']} false alarms;"
            f" found {st['tp']} of {positives} real {html.escape(self.pos_name)} cases.</div>"
        )

    def _matrix_html(self, st: dict[str, Any]) -> str:
        pos, neg = html.escape(self.pos_name), html.escape(self.neg_name)
        cell = "padding:4px 10px;border:1px solid #bbb;text-align:center"
        return (
            "<table class='course-confusion' style='border-collapse:collapse;font-family:sans-serif'>"
            f"<tr><th style='{cell}'></th><th style='{cell}'>predicted {pos}</th><th style='{cell}'>predicted {neg}</th></tr>"
            f"<tr><th style='{cell}'>true {pos}</th><td style='{cell};background:#dcefdc'>TP {st['tp']}</td>"
            f"<td style='{cell};background:#f6dcdc'>FN {st['fn']}</td></tr>"
            f"<tr><th style='{cell}'>true {neg}</th><td style='{cell};background:#f6dcdc'>FP {st['fp']}</td>"
            f"<td style='{cell};background:#dcefdc'>TN {st['tn']}</td></tr></table>"
        )

    def _init_curve(self) -> None:
        from course_lib.plots import plot_precision_recall

        self._fig = plot_precision_recall(self._y, self._s, threshold=float(self.slider.value))
        self._fig.set_size_inches(4.6, 4.0)
        self._fig.set_dpi(80)
        ax = self._fig.axes[0]
        self._point = [ln for ln in ax.get_lines() if ln.get_marker() == "o"][-1]
        self.curve = widgets.Image(format="png", layout=widgets.Layout(width="368px"))

    def _draw_point(self, st: dict[str, Any]) -> None:
        self._point.set_data([st["recall"]], [st["precision"]])
        self._point.set_label(f"threshold {st['threshold']:.2f}: precision {st['precision']:.2f}, "
                              f"recall {st['recall']:.2f}")
        self._fig.axes[0].legend(fontsize=7, loc="lower left")
        buf = io.BytesIO()
        self._fig.savefig(buf, format="png", dpi=80)
        self.curve.value = buf.getvalue()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs) or {}
        st = self._state
        img = ""
        if self.curve is not None and self.curve.value:
            img = f"<img alt='precision-recall curve' src='data:image/png;base64,{base64.b64encode(self.curve.value).decode()}'/>"
        data["text/plain"] = self._summary_text(st)
        data["text/html"] = (f"<div>{self.summary_html.value}<div style='display:flex;gap:12px;align-items:flex-start'>"
                             f"{self.matrix_html.value}{img}</div></div>")
        return data


def threshold_explorer(
    y_true: Any,
    scores: Any,
    *,
    pos_label: int = 1,
    threshold: float | None = None,
    class_names: tuple[str, str] | None = None,
    show_curve: bool = True,
) -> ThresholdExplorer:
    """A slider over the decision threshold with live confusion matrix, precision, recall, F1 and accuracy.

    Parameters
    ----------
    y_true : array-like of int
        True labels of a two-class problem.
    scores : array-like of float
        The model's probability for the positive class, in [0, 1]; ``score >= threshold`` counts as positive.
    pos_label : int
        Which label is the positive class.
    threshold : float, optional
        Start value (default 0.5).
    class_names : (str, str), optional
        Names of the positive and the negative class, e.g. ``("defect", "good")``.
    show_curve : bool
        Also show the precision-recall curve with the operating point.

    Examples
    --------
    >>> ex = threshold_explorer([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], show_curve=False)
    >>> ex.slider.value = 0.3
    >>> ex.state["recall"], ex.state["tp"]
    (1.0, 2)
    """
    return ThresholdExplorer(y_true, scores, pos_label=pos_label, threshold=threshold, class_names=class_names,
                             show_curve=show_curve)


# ---------------------------------------------------------------------------------------------------------------
class FreezeExplorer(widgets.VBox):
    """One "trainable" checkbox per block of a model, with live trainable-parameter counts.

    Attributes
    ----------
    checkboxes : dict of str to ipywidgets.Checkbox
        Keyed by block name (``features.0`` ... ``fc`` for the course CNN).
    summary_html : ipywidgets.HTML
        ``trainable parameters 1,285 of 237,253 (0.5%)``.
    head_only_button, all_button : ipywidgets.Button
        Presets: train only the head (stage 1 of the recipe); train everything.
    state : dict
        ``{"trainable": int, "total": int, "blocks": {name: {"params", "trainable_params", "trainable"}}}``.
    """

    def __init__(self, model: nn.Module) -> None:
        from course_lib.models import blocks, count_params

        if not isinstance(model, nn.Module):
            raise TypeError(f"freeze_explorer expects a torch.nn.Module, got {type(model).__name__}.")
        self.model = model
        self._blocks = dict(blocks(model))
        if not self._blocks:
            raise ValueError("This model has no blocks with parameters to freeze or unfreeze.")
        self._total = count_params(model)
        self._syncing = False
        self.checkboxes: dict[str, widgets.Checkbox] = {}
        for name, block in self._blocks.items():
            n = sum(p.numel() for p in block.parameters())
            cb = widgets.Checkbox(value=False, description=f"{name} ({n:,} parameters)", indent=False,
                                  style={"description_width": "initial"}, layout=widgets.Layout(width="auto"))
            cb.observe(lambda change, name=name: self._on_toggle(name, change), names="value")
            self.checkboxes[name] = cb
        self.summary_html = widgets.HTML()
        self.head_only_button = widgets.Button(description="train the head only", layout=widgets.Layout(width="auto"))
        self.all_button = widgets.Button(description="train everything", layout=widgets.Layout(width="auto"))
        self.head_only_button.on_click(lambda _b: self.train_head_only())
        self.all_button.on_click(lambda _b: self.train_all())
        super().__init__([
            widgets.HTML("<b>Trainable blocks</b> (ticked = learns during fine-tuning)"),
            *self.checkboxes.values(),
            widgets.HBox([self.head_only_button, self.all_button]),
            self.summary_html,
        ])
        self.refresh()

    @property
    def state(self) -> dict[str, Any]:
        """Counts read from the model now (so changes made elsewhere show up too)."""
        from course_lib.models import count_trainable_params

        blocks_state = {}
        for name, block in self._blocks.items():
            params = [p for p in block.parameters()]
            n = sum(p.numel() for p in params)
            k = sum(p.numel() for p in params if p.requires_grad)
            blocks_state[name] = {"params": n, "trainable_params": k, "trainable": k == n and n > 0}
        return {"trainable": count_trainable_params(self.model), "total": self._total, "blocks": blocks_state}

    def refresh(self) -> None:
        """Re-read which parameters are trainable (call after freeze()/unfreeze() elsewhere)."""
        st = self.state
        self._syncing = True
        try:
            for name, cb in self.checkboxes.items():
                cb.value = st["blocks"][name]["trainable"]
        finally:
            self._syncing = False
        share = st["trainable"] / st["total"] if st["total"] else 0.0
        partly = [n for n, b in st["blocks"].items() if 0 < b["trainable_params"] < b["params"]]
        note = f" (partly trainable: {', '.join(partly)})" if partly else ""
        self.summary_html.value = (
            f"<div class='course-freeze-summary' style='font-family:monospace;font-size:1.05em'>"
            f"trainable parameters {st['trainable']:,} of {st['total']:,} ({share:.1%}){html.escape(note)}</div>"
        )

    def train_head_only(self) -> None:
        """Freeze everything, then unfreeze the last block (the head)."""
        from course_lib.models import freeze, unfreeze

        unfreeze(freeze(self.model), last_n=1)
        self.refresh()

    def train_all(self) -> None:
        """Make every block trainable."""
        from course_lib.models import unfreeze

        unfreeze(self.model)
        self.refresh()

    def _on_toggle(self, name: str, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        from course_lib.models import freeze, unfreeze

        block = self._blocks[name]
        if change["new"]:
            unfreeze(block)
        else:
            freeze(block)
        self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs) or {}
        st = self.state
        pad = "padding:1px 8px;text-align:right"
        rows = "".join(
            f"<tr><td>{'&#9745;' if b['trainable'] else '&#9744;'}</td><td style='{pad};text-align:left'>"
            f"{html.escape(n)}</td><td style='{pad}'>{b['params']:,}</td><td style='{pad}'>{b['trainable_params']:,}</td></tr>"
            for n, b in st["blocks"].items()
        )
        data["text/html"] = (
            f"<table style='border-collapse:collapse;font-family:monospace'><tr><th></th><th style='{pad}'>block</th>"
            f"<th style='{pad}'>parameters</th><th style='{pad}'>trainable</th></tr>{rows}</table>{self.summary_html.value}"
        )
        data["text/plain"] = f"trainable parameters {st['trainable']:,} of {st['total']:,}"
        return data


def freeze_explorer(model: nn.Module) -> FreezeExplorer:
    """Checkboxes that freeze/unfreeze each block of ``model`` in place, with live parameter counts.

    The blocks are those of :func:`course_lib.models.blocks`: for the course CNN its three stages
    (``features.0-2``) and the head ``fc``; for torchvision models their top-level children (feature
    blocks opened up). Unticking a block freezes it (``requires_grad=False``, BatchNorm statistics kept).

    Examples
    --------
    >>> from course_lib import course_cnn
    >>> ex = freeze_explorer(course_cnn(num_classes=5))
    >>> ex.train_head_only()
    >>> ex.state["trainable"] == sum(p.numel() for p in ex.model.fc.parameters())
    True
    """
    return FreezeExplorer(model)
