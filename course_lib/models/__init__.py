"""Models: the course backbone, torchvision's pre-trained models, freezing and head replacement."""

from .backbone import (
    CheckpointError,
    CourseCNN,
    CourseCNN_Weights,
    Weights,
    course_cnn,
    load_checkpoint,
    load_state_dict,
    save_checkpoint,
)
from .freezing import (
    blocks,
    count_params,
    count_trainable_params,
    freeze,
    head_only_trainable,
    is_frozen,
    unfreeze,
)
from .heads import get_head, replace_head
from .pretrained import WeightsUnavailableError, torchvision_model, weights_cache_path

__all__ = [
    "CheckpointError", "CourseCNN", "CourseCNN_Weights", "Weights", "course_cnn", "load_state_dict", "load_checkpoint",
    "save_checkpoint",
    "blocks", "count_params", "count_trainable_params", "freeze", "head_only_trainable", "is_frozen", "unfreeze",
    "get_head", "replace_head", "WeightsUnavailableError", "torchvision_model", "weights_cache_path",
]
