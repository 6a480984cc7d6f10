"""Tests for course_lib.data: the ImageDataset contract, the generated datasets, splits and the cache."""

from __future__ import annotations

import collections
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from course_lib.data import (  # noqa: E402
    DATA_VERSION,
    DEFECT_KINDS,
    SOURCE_CLASSES,
    TARGET_CLASSES,
    TEXTURES,
    ImageDataset,
    cache_dir,
    defects,
    digits,
    group_split,
    leaky_split,
    random_split,
    shapes_source,
    shapes_target,
    show_samples,
)
from course_lib.data import cache as cache_mod  # noqa: E402


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache folder, so none reads another's files (or the user's)."""
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "cache"))


def toy(n: int = 12, classes: tuple[str, ...] = ("a", "b", "c"), groups: bool = False) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    targets = torch.arange(n) % len(classes)
    return ImageDataset(torch.rand(n, 3, 8, 8, generator=g), targets, list(classes),
                        groups=(torch.arange(n) // 2) if groups else None,
                        meta={"idx": torch.arange(n)}, name="toy")


def image_keys(ds: ImageDataset) -> set[bytes]:
    return {bytes(x) for x in (ds.images * 255).round().to(torch.uint8).flatten(1).numpy()}


# small versions of every dataset and split, all fast to build
SMALL = {
    "source/train": lambda **kw: shapes_source("train", n_per_class=3, **kw),
    "source/val": lambda **kw: shapes_source("val", n_per_class=3, **kw),
    "target/train": lambda **kw: shapes_target("train", n_per_class=4, **kw),
    "target/val": lambda **kw: shapes_target("val", n_per_class=4, **kw),
    "target/test": lambda **kw: shapes_target("test", n_per_class=4, **kw),
    "target/textured": lambda **kw: shapes_target("test", n_per_class=4, domain="textured", **kw),
    "target/views": lambda **kw: shapes_target("train", n_per_class=3, views=3, **kw),
    "defects/train": lambda **kw: defects("train", n=80, positive_rate=0.1, **kw),
    "defects/val": lambda **kw: defects("val", n=80, positive_rate=0.1, **kw),
    "defects/test": lambda **kw: defects("test", n=80, positive_rate=0.1, **kw),
    "digits/train": lambda **kw: digits("train", **kw),
    "digits/val": lambda **kw: digits("val", **kw),
    "digits/test": lambda **kw: digits("test", **kw),
}
EXPECTED_LEN = {"source/train": 48, "source/val": 48, "target/train": 20, "target/val": 20, "target/test": 20,
                "target/textured": 20, "target/views": 45, "defects/train": 80, "defects/val": 80,
                "defects/test": 80, "digits/train": 1078, "digits/val": 359, "digits/test": 360}


# --- ImageDataset -------------------------------------------------------------------------------------
def test_dataset_protocol_and_subset():
    ds = toy(groups=True)
    assert len(ds) == 12 and ds.num_classes == 3 and ds.image_shape == (3, 8, 8)
    image, label = ds[4]
    assert torch.equal(image, ds.images[4]) and label == 1 and isinstance(label, int)
    sub = ds.subset([5, 0, 7])
    assert sub.targets.tolist() == [2, 0, 1]
    assert sub.meta["idx"].tolist() == [5, 0, 7] and sub.groups.tolist() == [2, 0, 3]
    assert torch.equal(sub.images[1], ds.images[0]) and sub.classes == ds.classes
    mask = ds.targets == 2
    assert ds.subset(mask).meta["idx"].tolist() == [2, 5, 8, 11]
    assert len(ds.subset([])) == 0


def test_class_counts_match_counter():
    ds = toy(n=11)
    expected = collections.Counter(ds.classes[t] for t in ds.targets.tolist())
    assert ds.class_counts() == {c: expected[c] for c in ds.classes}
    assert list(ds.class_counts()) == ds.classes


def test_repr_names_the_dataset():
    text = repr(toy())
    for part in ("toy", "12 images", "3 classes", "'a'", "3x8x8"):
        assert part in text


def test_dataloader_batches_like_the_tensors():
    ds = toy()
    x, y = next(iter(DataLoader(ds, batch_size=5, shuffle=False)))
    assert torch.equal(x, ds.images[:5]) and torch.equal(y, ds.targets[:5])


@pytest.mark.parametrize("bad, err", [
    (dict(images=np.zeros((2, 3, 4, 4))), TypeError),
    (dict(images=torch.zeros(2, 4, 4)), ValueError),
    (dict(images=torch.zeros(2, 3, 4, 4, dtype=torch.float64)), TypeError),
    (dict(targets=[0, 1, 0]), ValueError),
    (dict(targets=[0.0, 1.0]), ValueError),
    (dict(targets=[0, 2]), ValueError),
    (dict(targets=[-1, 0]), ValueError),
    (dict(classes=["a", "a"]), ValueError),
    (dict(classes=[]), ValueError),
    (dict(groups=[0]), ValueError),
    (dict(meta={"x": torch.zeros(3)}), ValueError),
])
def test_dataset_rejects_bad_input(bad, err):
    args = dict(images=torch.zeros(2, 3, 4, 4), targets=[0, 1], classes=["a", "b"])
    groups, meta = bad.pop("groups", None), bad.pop("meta", None)
    args.update(bad)
    with pytest.raises(err):
        ImageDataset(args["images"], args["targets"], args["classes"], groups=groups, meta=meta)


def test_subset_rejects_bad_indices():
    ds = toy()
    with pytest.raises(IndexError):
        ds.subset([12])
    with pytest.raises(TypeError):
        ds.subset([0.5])
    with pytest.raises(ValueError):
        ds.subset(torch.ones(3, dtype=torch.bool))


def test_show_draws_a_labelled_grid(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("show() must not call plt.show()"))
    ds = toy()
    before = plt.get_fignums()
    fig = ds.show(6)
    assert plt.get_fignums() == before, "show() left a pyplot figure open: Jupyter would draw the grid twice"
    drawn = [a for a in fig.axes if a.images]
    assert len(drawn) == 6
    # round-robin over classes: every class appears, titles are the class names
    assert [a.get_title() for a in drawn] == ["a", "b", "c", "a", "b", "c"]
    fig, ax = plt.subplots()
    assert show_samples(ds, 4, ax=ax) is fig
    assert sorted(t.get_text() for t in ax.texts) == ["a", "a", "b", "c"]
    plt.close(fig)
    with pytest.raises(ValueError):
        ds.show(0)


# --- every dataset: contract, determinism ---------------------------------------------------------------
@pytest.mark.parametrize("key", SMALL)
def test_dataset_contract(key):
    ds = SMALL[key](cache=False)
    assert isinstance(ds, ImageDataset) and len(ds) == EXPECTED_LEN[key]
    assert ds.images.dtype == torch.float32 and ds.images.shape[1:] == (3, 32, 32)
    assert float(ds.images.min()) >= 0.0 and float(ds.images.max()) <= 1.0
    assert ds.targets.dtype == torch.int64 and ds.targets.shape == (len(ds),)
    assert int(ds.targets.min()) >= 0 and int(ds.targets.max()) < len(ds.classes)
    assert ds.groups is None or (ds.groups.dtype == torch.int64 and ds.groups.shape == (len(ds),))
    assert sum(ds.class_counts().values()) == len(ds)
    # images are not blank: real content in every image
    assert float(ds.images.flatten(1).std(1).min()) > 0.01


@pytest.mark.parametrize("key", SMALL)
def test_same_seed_same_pixels(key):
    a, b = SMALL[key](cache=False), SMALL[key](cache=False)
    assert torch.equal(a.images, b.images) and torch.equal(a.targets, b.targets)


@pytest.mark.parametrize("key", SMALL)
def test_different_seed_different_pixels(key):
    a, b = SMALL[key](seed=0, cache=False), SMALL[key](seed=1, cache=False)
    assert not torch.equal(a.images, b.images)


def test_generation_leaves_torch_threads_alone():
    before = torch.get_num_threads()
    shapes_source("val", n_per_class=1, cache=False)
    assert torch.get_num_threads() == before


def test_per_class_counts_are_balanced():
    assert set(shapes_source("val", n_per_class=3, cache=False).class_counts().values()) == {3}
    assert set(shapes_target("test", n_per_class=4, views=2, cache=False).class_counts().values()) == {8}


def test_class_names():
    assert len(SOURCE_CLASSES) == 16 and len(set(SOURCE_CLASSES)) == 16
    assert TARGET_CLASSES == ["heart", "arrow", "crescent", "L-shape", "bowtie"]
    assert not set(s.lower() for s in SOURCE_CLASSES) & set(t.lower() for t in TARGET_CLASSES)
    assert shapes_source("val", n_per_class=1, cache=False).classes == SOURCE_CLASSES
    assert shapes_target("val", n_per_class=1, cache=False).classes == TARGET_CLASSES


@pytest.mark.slow
def test_default_sizes():
    assert len(shapes_source("val")) == 1600
    assert [len(shapes_target(s)) for s in ("train", "val", "test")] == [100, 100, 1000]
    assert [len(defects(s)) for s in ("train", "val", "test")] == [2000, 1000, 2000]


@pytest.mark.parametrize("make, splits", [
    (lambda s: shapes_source(s, n_per_class=5, cache=False), ("train", "val")),
    (lambda s: shapes_target(s, n_per_class=5, cache=False), ("train", "val", "test")),
    (lambda s: defects(s, n=100, cache=False), ("train", "val", "test")),
    (lambda s: digits(s, cache=False), ("train", "val", "test")),
], ids=["source", "target", "defects", "digits"])
def test_splits_share_no_image(make, splits):
    keys = [image_keys(make(s)) for s in splits]
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            assert not keys[i] & keys[j], f"{splits[i]} and {splits[j]} share images"


@pytest.mark.parametrize("table", ["_SOURCE", "_TARGET"])
def test_shapes_fit_the_unit_disc(table):
    # the renderer keeps the unit disc (scaled by the radius) inside the frame, so a shape whose points
    # all lie in the unit disc is never clipped by the image border
    from course_lib.data import shapes

    rng = np.random.default_rng(0)
    for name, (template, (lo, hi)) in getattr(shapes, table).items():
        assert 0 < lo <= hi <= 1, name
        for _ in range(20):
            pts = np.concatenate([op[1] for op in template(rng) if op[2] == 1])
            assert np.sqrt((pts ** 2).sum(1)).max() <= 1 + 1e-9, name


def test_objects_fill_a_fair_part_of_the_frame():
    # the object is neither a speck nor the whole image: its colour differs from the border's
    ds = shapes_source("val", n_per_class=4, cache=False)
    border = torch.cat([ds.images[:, :, 0, :], ds.images[:, :, -1, :]], 2).mean(2, keepdim=True)
    centre = ds.images[:, :, 8:24, 8:24].flatten(2)
    differs = ((centre - border).abs().sum(1) > 0.3).float().mean(1)  # share of centre pixels unlike the border
    assert float(differs.median()) > 0.2


# --- shapes_target specifics ------------------------------------------------------------------------
def test_views_share_a_group_and_look_alike():
    ds = shapes_target("train", n_per_class=4, views=3, cache=False)
    groups = ds.groups.numpy()
    counts = np.bincount(groups)
    assert (counts == 3).all() and len(counts) == 20
    for g in range(20):
        assert len(set(ds.targets[groups == g].tolist())) == 1
    flat = ds.images.flatten(1)
    dist = torch.cdist(flat, flat)
    same = torch.as_tensor(groups[:, None] == groups[None, :]) & ~torch.eye(len(ds), dtype=torch.bool)
    # every view's nearest other image is another view of the same object
    nearest = dist.masked_fill(torch.eye(len(ds), dtype=torch.bool), float("inf")).argmin(1)
    assert bool(same[torch.arange(len(ds)), nearest].all())


def test_views_one_gives_one_image_per_group():
    ds = shapes_target("val", n_per_class=3, cache=False)
    assert torch.equal(torch.sort(ds.groups).values, torch.arange(15))


def _roughness(images: torch.Tensor) -> float:
    """Mean absolute Laplacian: how much fine texture the images hold."""
    lap = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3).repeat(3, 1, 1, 1)
    return float(torch.nn.functional.conv2d(images, lap, groups=3).abs().mean())


def test_textured_domain_is_rougher():
    smooth = shapes_target("test", n_per_class=10, cache=False)
    rough = shapes_target("test", n_per_class=10, domain="textured", cache=False)
    assert _roughness(rough.images) > 1.5 * _roughness(smooth.images)
    assert rough.classes == smooth.classes


# --- defects specifics ------------------------------------------------------------------------------
@pytest.mark.parametrize("n, rate", [(100, 0.05), (200, 0.05), (101, 0.1), (50, 0.5), (400, 0.013)])
def test_defect_positive_count_is_exact(n, rate):
    ds = defects("val", n=n, positive_rate=rate, cache=False)
    assert int(ds.targets.sum()) == int(np.floor(n * rate + 0.5))
    assert ds.classes == ["ok", "defect"]


def test_defect_meta_is_consistent():
    ds = defects("train", n=200, positive_rate=0.2, cache=False)
    kind, texture = ds.meta["defect_kind"], ds.meta["texture"]
    assert torch.equal(kind >= 0, ds.targets == 1)
    assert int(kind.max()) < len(DEFECT_KINDS) and int(texture.max()) < len(TEXTURES) and int(texture.min()) >= 0
    # positives are spread through the dataset, not bunched at one end
    pos = torch.nonzero(ds.targets).flatten().float()
    assert 40 < float(pos.mean()) < 160


def test_defect_images_are_nearly_grey():
    ds = defects("val", n=60, cache=False)
    spread = (ds.images.max(1).values - ds.images.min(1).values).mean()
    assert float(spread) < 0.06


# --- digits against scikit-learn -------------------------------------------------------------------------
def test_digits_match_sklearn():
    from sklearn.datasets import load_digits

    ref = load_digits()
    parts = [digits(s, cache=False) for s in ("train", "val", "test")]
    index = torch.cat([p.meta["index"] for p in parts])
    assert sorted(index.tolist()) == list(range(len(ref.target)))  # a partition of all 1,797
    for p in parts:
        assert p.targets.tolist() == ref.target[p.meta["index"].numpy()].tolist()
        assert p.classes == [str(k) for k in range(10)]
        assert torch.equal(p.images[:, 0], p.images[:, 1]) and torch.equal(p.images[:, 0], p.images[:, 2])
        # shrinking back to 8x8 gives the original image (values / 16) to within a small error
        small = torch.nn.functional.adaptive_avg_pool2d(p.images[:, :1], 8)[:, 0].numpy()
        original = ref.images[p.meta["index"].numpy()] / 16.0
        assert np.corrcoef(small.ravel(), original.ravel())[0, 1] > 0.97
    # stratified 60/20/20
    for p, frac in zip(parts, (0.6, 0.2, 0.2), strict=True):
        want = np.bincount(ref.target) * frac
        assert np.abs(np.array(list(p.class_counts().values())) - want).max() <= 1.5


# --- splits -----------------------------------------------------------------------------------------
def test_random_split_is_stratified_partition():
    ds = toy(n=30)
    train, test = random_split(ds, test_fraction=0.3, seed=1)
    assert len(test) == 9 and len(train) == 21
    assert sorted(train.meta["idx"].tolist() + test.meta["idx"].tolist()) == list(range(30))
    assert set(test.class_counts().values()) == {3}
    again = random_split(ds, test_fraction=0.3, seed=1)[1]
    other = random_split(ds, test_fraction=0.3, seed=2)[1]
    assert torch.equal(again.meta["idx"], test.meta["idx"])
    assert not torch.equal(other.meta["idx"], test.meta["idx"])


def test_group_split_keeps_groups_together():
    ds = shapes_target("train", n_per_class=6, views=3, cache=False)
    train, test = group_split(ds, test_fraction=0.3, seed=0)
    assert not set(train.groups.tolist()) & set(test.groups.tolist())
    assert len(train) + len(test) == len(ds)
    # about 30% of each class's objects are in test (2 of 6 here)
    assert set(test.class_counts().values()) == {6}
    # the random split of the same data does put views of one object on both sides
    r_train, r_test = random_split(ds, test_fraction=0.3, seed=0)
    assert set(r_train.groups.tolist()) & set(r_test.groups.tolist())


def test_group_split_needs_groups():
    with pytest.raises(ValueError, match="groups"):
        group_split(toy(), test_fraction=0.3)


def test_leaky_split_plants_near_copies():
    ds = shapes_target("test", n_per_class=30, cache=False)
    train, test = leaky_split(ds, test_fraction=0.3, leak_fraction=0.3, seed=0)
    fair_train, fair_test = random_split(ds, test_fraction=0.3, seed=0)
    assert torch.equal(train.images, fair_train.images)
    assert len(test) == len(fair_test) and test.class_counts() == fair_test.class_counts()
    src = test.meta["leaked_from"]
    planted = src >= 0
    assert int(planted.sum()) == round(0.3 * len(test))
    dist = torch.cdist(test.images.flatten(1), train.images.flatten(1))
    # every planted image is nearest to the training image it was copied from, and has the same label
    assert torch.equal(dist[planted].argmin(1), src[planted])
    assert torch.equal(train.targets[src[planted]], test.targets[planted])
    # ... and is much closer to it than any genuine test image is to any training image
    assert float(dist[planted].min(1).values.max()) < 0.8 * float(dist[~planted].min(1).values.min())
    # the genuine test images are untouched
    assert torch.equal(test.images[~planted], fair_test.images[~planted])
    # the groups of copies are the groups of their originals: group-aware checks can find them
    assert torch.equal(test.groups[planted], train.groups[src[planted]])


def test_leakage_flatters_a_memorising_model():
    from sklearn.neighbors import KNeighborsClassifier

    ds = shapes_target("test", n_per_class=40, cache=False)
    train, leaky = leaky_split(ds, test_fraction=0.3, leak_fraction=0.3, seed=0)
    _, fair = random_split(ds, test_fraction=0.3, seed=0)
    knn = KNeighborsClassifier(n_neighbors=1).fit(train.images.flatten(1).numpy(), train.targets.numpy())
    acc_leaky = knn.score(leaky.images.flatten(1).numpy(), leaky.targets.numpy())
    acc_fair = knn.score(fair.images.flatten(1).numpy(), fair.targets.numpy())
    assert acc_leaky > acc_fair + 0.1
    planted = (leaky.meta["leaked_from"] >= 0).numpy()
    assert knn.score(leaky.images.flatten(1).numpy()[planted], leaky.targets.numpy()[planted]) == 1.0


# --- cache --------------------------------------------------------------------------------------------
def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "data"
    first = shapes_target("val", n_per_class=2)
    files = list((tmp_path / "c" / "data").glob("*.pt"))
    assert len(files) == 1 and f"v{DATA_VERSION}" in files[0].name
    payload = torch.load(files[0], weights_only=True)
    assert payload["images"].dtype == torch.uint8
    second = shapes_target("val", n_per_class=2)
    assert torch.equal(first.images, second.images) and torch.equal(first.groups, second.groups)
    assert torch.equal(first.images, shapes_target("val", n_per_class=2, cache=False).images)
    # a different parameter is a different file; cache=False writes nothing
    shapes_target("val", n_per_class=3)
    shapes_target("val", n_per_class=4, cache=False)
    assert len(list((tmp_path / "c" / "data").glob("*.pt"))) == 2
    assert not list((tmp_path / "c" / "data").glob("*.tmp"))


def test_cache_is_really_read(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path))
    ds = defects("val", n=40, positive_rate=0.1)
    (path,) = (tmp_path / "data").glob("*.pt")
    payload = torch.load(path, weights_only=True)
    payload["images"] = torch.zeros_like(payload["images"])
    torch.save(payload, path)
    again = defects("val", n=40, positive_rate=0.1)
    assert float(again.images.max()) == 0.0 and not torch.equal(ds.images, again.images)
    assert torch.equal(again.meta["texture"], ds.meta["texture"])


@pytest.mark.parametrize("damage", [b"", b"not a torch file", "truncate"])
def test_corrupt_cache_is_regenerated_with_a_warning(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path))
    ds = shapes_source("val", n_per_class=1)
    (path,) = (tmp_path / "data").glob("*.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else damage)
    with pytest.warns(RuntimeWarning, match="could not be read"):
        again = shapes_source("val", n_per_class=1)
    assert torch.equal(ds.images, again.images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shapes_source("val", n_per_class=1)  # repaired: no warning now


def test_unwritable_cache_only_warns(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("COURSE_LIB_CACHE", str(blocker))
    with pytest.warns(RuntimeWarning, match="could not save"):
        ds = digits("val")
    assert len(ds) == 359


def test_cache_key_covers_version(monkeypatch):
    before = cache_mod.cache_path("x", {"a": 1})
    monkeypatch.setattr(cache_mod, "DATA_VERSION", DATA_VERSION + 1)
    assert cache_mod.cache_path("x", {"a": 1}) != before


# --- clear errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda: shapes_source("test"), "split"),
    (lambda: shapes_source("training"), "split"),
    (lambda: shapes_target("holdout"), "split"),
    (lambda: defects("dev"), "split"),
    (lambda: digits("all"), "split"),
    (lambda: shapes_source(n_per_class=0), "n_per_class"),
    (lambda: shapes_target(n_per_class=-2), "n_per_class"),
    (lambda: shapes_target(n_per_class=2.5), "n_per_class"),
    (lambda: shapes_target(views=0), "views"),
    (lambda: shapes_target(domain="photo"), "domain"),
    (lambda: defects(positive_rate=0.0), "positive_rate"),
    (lambda: defects(positive_rate=1.0), "positive_rate"),
    (lambda: defects(positive_rate=-0.1), "positive_rate"),
    (lambda: defects(positive_rate=1.5), "positive_rate"),
    (lambda: defects(positive_rate="5%"), "positive_rate"),
    (lambda: defects(n=10, positive_rate=0.01), "raise n"),
    (lambda: defects(n=0), "n must"),
    (lambda: shapes_source(seed=-1), "seed"),
    (lambda: shapes_source(seed=1.5), "seed"),
    (lambda: shapes_source(size=8), "size"),
    (lambda: random_split(toy(), test_fraction=1.2), "test_fraction"),
    (lambda: random_split(toy(), test_fraction=0), "test_fraction"),
    (lambda: leaky_split(toy(), leak_fraction=1.0), "leak_fraction"),
    (lambda: group_split(toy(groups=True), test_fraction=-0.5), "test_fraction"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_split_functions_want_a_dataset():
    with pytest.raises(TypeError, match="ImageDataset"):
        random_split(torch.zeros(4, 3, 8, 8), test_fraction=0.5)


def test_cache_key_follows_the_generator_code(monkeypatch):
    from course_lib.data import cache

    before = cache.cache_path("shapes_source", {"seed": 0})
    monkeypatch.setattr(cache, "GENERATOR_DIGEST", "edited-code")
    assert cache.cache_path("shapes_source", {"seed": 0}) != before
