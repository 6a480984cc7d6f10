"""course_lib.metrics.similarity: linear CKA and mean cosine similarity against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics.pairwise import cosine_similarity

from course_lib.metrics.similarity import linear_cka, mean_cosine_similarity


def _cka_reference(x, y):
    """CKA in its kernel form (Kornblith et al. 2019, eq. 1): HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h)

    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_cka_matches_the_kernel_form(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 7))
    y = x @ rng.normal(size=(7, 5)) + 0.5 * rng.normal(size=(40, 5))   # related, different width
    assert linear_cka(x, y) == pytest.approx(_cka_reference(x, y), rel=1e-10)
    z = rng.normal(size=(40, 12))
    assert linear_cka(x, z) == pytest.approx(_cka_reference(x, z), rel=1e-10)


def test_linear_cka_known_properties():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 10)) * np.linspace(0.2, 3, 10)
    q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ q) == pytest.approx(1.0)                 # orthogonal transform
    assert linear_cka(x, 7.5 * x + 3.0) == pytest.approx(1.0)         # isotropic scale, shift
    assert linear_cka(x, x @ q) == pytest.approx(linear_cka(x @ q, x))
    y = rng.normal(size=(60, 10))
    assert linear_cka(x, y) == pytest.approx(linear_cka(y, x))        # symmetric
    assert linear_cka(x, x * np.r_[10.0, np.ones(9)]) < 0.99          # not invariant to stretching one axis
    assert 0.0 <= linear_cka(x, y) < 0.5                              # unrelated features: low
    assert linear_cka(torch.as_tensor(x), torch.as_tensor(x @ q)) == pytest.approx(1.0)  # torch input


def test_mean_cosine_similarity_matches_sklearn():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(30, 6)), rng.normal(size=(30, 6))
    assert mean_cosine_similarity(x, y) == pytest.approx(np.mean(np.diag(cosine_similarity(x, y))))
    assert mean_cosine_similarity(x, 2 * x) == pytest.approx(1.0)
    assert mean_cosine_similarity(x, -x) == pytest.approx(-1.0)


def test_bad_input_is_explained():
    x = np.ones((5, 3))
    with pytest.raises(ValueError, match="2-D"):
        linear_cka(np.ones(5), x)
    with pytest.raises(ValueError, match="rows"):
        linear_cka(x, np.ones((4, 3)))
    with pytest.raises(ValueError, match="same for every image"):
        linear_cka(x, np.random.default_rng(0).normal(size=(5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        linear_cka(np.full((5, 3), np.nan), x)
    with pytest.raises(ValueError, match="features"):
        mean_cosine_similarity(np.ones((5, 3)), np.ones((5, 4)))
    with pytest.raises(ValueError, match="zeros"):
        mean_cosine_similarity(np.zeros((5, 3)), np.ones((5, 3)))
    with pytest.raises(TypeError):
        linear_cka("abc", x)
