"""The course's datasets, all generated or loaded offline, and the ways to split them.

- ``shapes_source``: 16 procedurally drawn shapes, the pre-training (source) task.
- ``shapes_target``: 5 new shapes with few training images, the fine-tuning (target) task;
  ``views=k`` for near-duplicate images, ``domain="textured"`` for a domain shift.
- ``defects``: surface patches, ``ok`` vs a rare ``defect`` (5% by default): the imbalanced task.
- ``digits``: scikit-learn's handwritten digits, enlarged to 32x32 RGB.
- ``random_split``, ``group_split``, ``leaky_split``: fair, group-aware and deliberately leaky splits.

Every dataset is an ``ImageDataset`` (images ``N x 3 x H x W`` in [0, 1], int64 targets, class names),
deterministic for a given seed and cached on disk after the first call (see ``cache_dir()``).
"""

from .cache import DATA_VERSION, cache_dir
from .dataset import ImageDataset, show_samples
from .defects import DEFECT_CLASSES, DEFECT_KINDS, TEXTURES, defects
from .digits import DIGIT_CLASSES, digits
from .shapes import SOURCE_CLASSES, TARGET_CLASSES, shapes_source, shapes_target
from .splits import group_split, leaky_split, random_split

__all__ = [
    "DATA_VERSION",
    "DEFECT_CLASSES",
    "DEFECT_KINDS",
    "DIGIT_CLASSES",
    "SOURCE_CLASSES",
    "TARGET_CLASSES",
    "TEXTURES",
    "ImageDataset",
    "cache_dir",
    "defects",
    "digits",
    "group_split",
    "leaky_split",
    "random_split",
    "shapes_source",
    "shapes_target",
    "show_samples",
]
