"""course_lib: the library behind the course "Fine-tuning pre-trained vision models, and judging them
by the right metrics".

Data flows the way the course does::

    course_lib.data  ->  course_lib.models  ->  course_lib.training  ->  course_lib.metrics
                     ->  course_lib.diagnostics / plots / widgets        (course_lib.quiz beside it)

The most used names are re-exported here, so a notebook can say
``from course_lib import freeze, replace_head, fit, confusion_matrix``.
Sub-modules are imported on first use, which keeps ``import course_lib`` fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> sub-module that defines it
_EXPORTS: dict[str, str] = {
    # data
    "ImageDataset": "course_lib.data",
    "show_samples": "course_lib.data",
    "shapes_source": "course_lib.data",
    "shapes_target": "course_lib.data",
    "defects": "course_lib.data",
    "digits": "course_lib.data",
    "random_split": "course_lib.data",
    "group_split": "course_lib.data",
    "leaky_split": "course_lib.data",
    # metrics
    "confusion_matrix": "course_lib.metrics",
    "accuracy_score": "course_lib.metrics",
    "precision_score": "course_lib.metrics",
    "recall_score": "course_lib.metrics",
    "f1_score": "course_lib.metrics",
    "classification_report": "course_lib.metrics",
    "precision_recall_curve": "course_lib.metrics",
    "metrics_at_threshold": "course_lib.metrics",
    "precision_recall_fscore_support": "course_lib.metrics",
    "fbeta_score": "course_lib.metrics",
    "roc_curve": "course_lib.metrics",
    "roc_auc_score": "course_lib.metrics",
    "average_precision_score": "course_lib.metrics",
    "threshold_for_recall": "course_lib.metrics",
    "best_f1_threshold": "course_lib.metrics",
    # models
    "course_cnn": "course_lib.models",
    "CourseCNN_Weights": "course_lib.models",
    "torchvision_model": "course_lib.models",
    "freeze": "course_lib.models",
    "unfreeze": "course_lib.models",
    "count_trainable_params": "course_lib.models",
    "count_params": "course_lib.models",
    "replace_head": "course_lib.models",
    "get_head": "course_lib.models",
    # training
    "fit": "course_lib.training",
    "fine_tune": "course_lib.training",
    "History": "course_lib.training",
    "param_groups": "course_lib.training",
    "predict": "course_lib.training",
    "evaluate": "course_lib.training",
    "select_device": "course_lib.training",
    "seed_everything": "course_lib.training",
    # diagnostics
    "report_card": "course_lib.diagnostics",
    "ReportCard": "course_lib.diagnostics",
    "find_near_duplicates": "course_lib.diagnostics",
    "overfitting_report": "course_lib.diagnostics",
    "verdict_from_scores": "course_lib.diagnostics",
    # plots and widgets
    "plot_confusion_matrix": "course_lib.plots",
    "plot_history": "course_lib.plots",
    "plot_precision_recall": "course_lib.plots",
    "plot_worst_mistakes": "course_lib.plots",
    "plot_samples": "course_lib.plots",
    "threshold_explorer": "course_lib.widgets",
    "freeze_explorer": "course_lib.widgets",
    # quizzes
    "show_quiz": "course_lib.quiz",
    "quiz_progress": "course_lib.quiz",
    "list_banks": "course_lib.quiz",
    "reset_progress": "course_lib.quiz",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
