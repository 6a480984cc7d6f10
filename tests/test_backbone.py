"""The shipped pre-trained backbone: provenance, integrity, accuracy, and a transfer gain that is real."""

from __future__ import annotations

import json

import pytest
import torch

from course_lib.models import (
    CourseCNN_Weights,
    count_params,
    course_cnn,
    freeze,
    replace_head,
    unfreeze,
)
from course_lib.models.backbone import sha256_of
from course_lib.pretrain import SAMPLE_SIZE, pretrain, sample_accuracy
from course_lib.training import evaluate, fit

W = CourseCNN_Weights.SHAPES_V1.value


def test_shipped_checkpoint_matches_its_provenance():
    info = json.loads(W.path.with_suffix(".json").read_text())
    assert W.path.stat().st_size == info["size_bytes"] <= 5 * 2**20
    assert sha256_of(W.path) == info["sha256"]
    model = course_cnn(weights="DEFAULT")
    assert count_params(model) == info["num_params"]
    assert info["source_val_accuracy"] >= 0.9


def test_shipped_checkpoint_scores_its_recorded_accuracy():
    from course_lib.data import DATA_VERSION, shapes_source

    info = W.provenance
    assert info["data"]["data_version"] == DATA_VERSION, "data changed since pre-training: re-run course_lib.pretrain"
    assert info["categories"] == shapes_source("val", n_per_class=1).classes
    acc = sample_accuracy(course_cnn(weights=CourseCNN_Weights.DEFAULT), seed=info["data"]["seed"])
    # identical on the machine that made it; allow two images of float drift elsewhere
    assert abs(acc - info["sample_accuracy"]["accuracy"]) <= 2 / SAMPLE_SIZE


def test_weights_contradicting_num_classes_are_refused():
    with pytest.raises(ValueError, match="replace_head"):
        course_cnn(weights="DEFAULT", num_classes=5)
    assert course_cnn(weights="shapes_v1").fc.out_features == len(W.meta["categories"]) == 16


def test_pretrain_script_writes_a_loadable_checkpoint_and_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "tiny.pt"
    info = pretrain(epochs=1, n_per_class=8, width=8, out=out, progress=False)
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved == info and saved["sha256"] == sha256_of(out)
    state = torch.load(out, weights_only=True)
    assert set(state) == set(course_cnn(width=8).state_dict())


@pytest.mark.slow
def test_pretrained_backbone_beats_training_from_scratch_by_a_wide_margin():
    from course_lib.data import shapes_target

    train, val = shapes_target("train"), shapes_target("val")
    test = shapes_target("test", n_per_class=60)
    torch.manual_seed(0)
    transfer = unfreeze(freeze(replace_head(course_cnn(weights="DEFAULT"), 5)), last_n=1)
    fit(transfer, train, val, epochs=30, lr=1e-2, progress=False)
    torch.manual_seed(0)
    scratch = course_cnn(weights=None, num_classes=5)
    fit(scratch, train, val, epochs=30, lr=3e-3, augment=True, progress=False)
    acc_transfer, acc_scratch = evaluate(transfer, test)["accuracy"], evaluate(scratch, test)["accuracy"]
    assert acc_transfer >= 0.8, acc_transfer
    assert acc_transfer - acc_scratch >= 0.25, (acc_transfer, acc_scratch)
