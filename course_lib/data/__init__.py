"""The course's datasets, all generated or loaded offline.

- ``shapes_source``: 16 procedurally drawn shapes, the pre-training (source) task.
- ``shapes_target``: 5 new shapes with few training images, the fine-tuning (target) task;
  ``views=k`` for near-duplicate images, ``domain="textured"`` for a domain shift.

Every dataset is an ``ImageDataset`` (images ``N x 3 x H x W`` in [0, 1], int64 targets, class names).
"""

from .cache import DATA_VERSION, cache_dir
from .dataset import ImageDataset, show_samples
from .shapes import SOURCE_CLASSES, TARGET_CLASSES, shapes_source, shapes_target

__all__ = [
    "DATA_VERSION",
    "SOURCE_CLASSES",
    "TARGET_CLASSES",
    "ImageDataset",
    "cache_dir",
    "shapes_source",
    "shapes_target",
    "show_samples",
]
