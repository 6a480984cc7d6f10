"""Training: the loop (``fit``), the two-stage recipe (``fine_tune``), predictions and evaluation."""

from .device import seed_everything, select_device
from .engine import as_tensors, augment_batch, fine_tune, fit
from .history import History
from .optim import param_groups
from .predict import evaluate, predict

__all__ = ["fit", "fine_tune", "History", "param_groups", "predict", "evaluate", "select_device",
           "seed_everything", "as_tensors", "augment_batch"]
