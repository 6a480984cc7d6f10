"""course_lib.models: freezing, head replacement, checkpoints and the torchvision loader."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from course_lib.models import (
    CheckpointError,
    CourseCNN,
    WeightsUnavailableError,
    blocks,
    count_params,
    count_trainable_params,
    course_cnn,
    freeze,
    get_head,
    load_checkpoint,
    replace_head,
    save_checkpoint,
    torchvision_model,
    unfreeze,
    weights_cache_path,
)

TV_ARCHS = ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "vit_b_16"]


@pytest.fixture(scope="module", params=TV_ARCHS)
def tv_model(request):
    return request.param, torchvision_model(request.param, weights=None)


def test_freeze_makes_requires_grad_sum_zero(tv_model):
    _, model = tv_model
    freeze(model)
    assert sum(p.requires_grad for p in model.parameters()) == 0  # the seed's practice question
    assert count_trainable_params(model) == 0
    unfreeze(model)
    assert count_trainable_params(model) == count_params(model) == sum(p.numel() for p in model.parameters())


def test_replace_head_on_frozen_model_trains_only_head(tv_model):
    name, model = tv_model
    freeze(model)
    replace_head(model, 5)
    head_name, head = get_head(model)
    assert head.out_features == 5
    assert count_trainable_params(model) == sum(p.numel() for p in head.parameters())
    size = 224 if name == "vit_b_16" else 64
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, size, size)).shape == (1, 5)


def test_unfreeze_last_n_counts_blocks(tv_model):
    _, model = tv_model
    bl = blocks(model)
    freeze(model)
    unfreeze(model, last_n=2)
    expected = sum(p.numel() for _, m in bl[-2:] for p in m.parameters())
    assert count_trainable_params(model) == expected
    with pytest.raises(ValueError, match="last_n"):
        unfreeze(model, last_n=len(bl) + 1)


def test_unfreeze_by_module_name():
    model = torchvision_model("resnet18", weights=None)
    freeze(model)
    unfreeze(model, modules=["layer4", "fc"])
    expected = count_params(model.layer4) + count_params(model.fc)
    assert count_trainable_params(model) == expected
    with pytest.raises(ValueError, match="No sub-module named 'layer9'"):
        unfreeze(model, modules=["layer9"])


@pytest.mark.parametrize("arch", ["squeezenet1_0", "densenet121", "convnext_tiny", "vgg11", "swin_t", "alexnet"])
def test_replace_head_other_families(arch):
    model = torchvision_model(arch, weights=None)
    replace_head(model, 7)
    size = 224 if arch in ("swin_t", "alexnet") else 64
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, size, size)).shape == (1, 7)


def test_replace_head_unknown_architecture_names_last_linear():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.ReLU(), nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"last Linear layer is `3`"):
        replace_head(model, 2)
    with pytest.raises(ValueError, match="positive integer"):
        replace_head(course_cnn(), 0)


def test_replace_head_seed_repeats_the_head_and_leaves_the_global_rng_alone():
    models = [course_cnn(width=8) for _ in range(3)]
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = replace_head(models[0], 5, seed=7).fc
    assert torch.equal(torch.rand(3), expected_next), "seed= must not move the global random stream"
    b = replace_head(models[1], 5, seed=7).fc
    c = replace_head(models[2], 5, seed=8).fc
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert not torch.equal(a.weight, c.weight)


def test_frozen_batchnorm_stats_do_not_drift_in_train_mode():
    torch.manual_seed(0)
    model = freeze(course_cnn(num_classes=3))
    bn = model.features[0][1]
    before = bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone()
    model.train()
    model(torch.rand(8, 3, 32, 32) * 5 + 2)
    assert torch.equal(bn.running_mean, before[0]) and torch.equal(bn.running_var, before[1])
    # requires_grad alone would not have protected them: the same forward pass after unfreeze moves them
    unfreeze(model)
    model.train()
    model(torch.rand(8, 3, 32, 32) * 5 + 2)
    assert not torch.equal(bn.running_mean, before[0])


def test_freeze_can_leave_batchnorm_stats_running():
    model = freeze(course_cnn(), freeze_batchnorm_stats=False)
    bn = model.features[0][1]
    before = bn.running_mean.clone()
    model.train()
    model(torch.rand(4, 3, 32, 32) + 1)
    assert not torch.equal(bn.running_mean, before)


def test_course_cnn_builder_and_errors():
    model = course_cnn(weights=None, num_classes=5)
    assert isinstance(model, CourseCNN) and model.fc.out_features == 5
    assert 100_000 <= count_params(model) <= 1_000_000
    with pytest.raises(ValueError, match="Unknown weights"):
        course_cnn(weights="IMAGENET")
    with pytest.raises(ValueError, match=r"\(batch, 3, height, width\)"):
        model(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="global_pool"):
        course_cnn(global_pool="median")


def test_checkpoint_round_trip(tmp_path):
    a = course_cnn(num_classes=5)
    path = save_checkpoint(a, tmp_path / "m.pt")
    b = load_checkpoint(course_cnn(num_classes=5), path)
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), k


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(course_cnn(), tmp_path / "missing.pt")
    good = save_checkpoint(course_cnn(num_classes=5), tmp_path / "good.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="could not be read"):
        load_checkpoint(course_cnn(num_classes=5), truncated)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(course_cnn(num_classes=16), good)  # head of another size
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(torchvision_model("resnet18", weights=None), good)


class _Payload:  # an object a malicious checkpoint might carry
    def __reduce__(self):
        return (print, ("pwned",))


def test_checkpoint_with_code_is_refused(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    torch.save({"fc.weight": torch.zeros(1), "x": _Payload()}, evil)
    with pytest.raises(CheckpointError):
        load_checkpoint(course_cnn(), evil)
    assert "pwned" not in capsys.readouterr().out


def test_torchvision_offline_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match="course_cnn\\(weights='DEFAULT'\\)") as info:
        torchvision_model("resnet18")
    assert "resnet18-f37072fd.pth" in str(info.value)


def test_torchvision_weights_load_offline_from_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    w = torchvision.models.ResNet18_Weights.DEFAULT
    target = weights_cache_path(w)
    target.parent.mkdir(parents=True)
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), target)
    model = torchvision_model("resnet18")
    assert torch.equal(model.fc.weight, reference.fc.weight)
    with pytest.raises(ValueError, match="replace its head"):
        torchvision_model("resnet18", num_classes=5)
    with pytest.raises(ValueError, match="Unknown torchvision model"):
        torchvision_model("resnet19", weights=None)


def test_every_top_level_export_resolves():
    import course_lib

    for name in course_lib.__all__:
        assert getattr(course_lib, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'fine_tunes'"):
        course_lib.fine_tunes  # noqa: B018
