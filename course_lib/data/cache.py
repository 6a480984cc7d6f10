"""On-disk cache for the generated datasets.

A dataset is generated once, then saved as 8-bit images under ``$COURSE_LIB_CACHE/data/`` (default
``~/.cache/course_lib/data/``). The file name holds a hash of the dataset name, every parameter and
``DATA_VERSION`` and of the generators' source code, so changing any of them makes a fresh file. Files are written to a
temporary name and moved into place with ``os.replace`` (never half-written), read back with
``torch.load(..., weights_only=True)``, and a file that cannot be read is regenerated with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

__all__ = ["DATA_VERSION", "cache_dir", "cache_path", "cached"]

#: Bump whenever a generator changes what it draws: old cache files are then ignored.
DATA_VERSION = 3


def _generator_digest() -> str:
    """A hash of the generators' source code: a cache file made by other code is never reused, even when
    someone forgot to bump ``DATA_VERSION`` (a stale file once served old class names here)."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


GENERATOR_DIGEST = _generator_digest()

_ENV = "COURSE_LIB_CACHE"


def cache_dir() -> Path:
    """The folder where generated datasets are kept: ``$COURSE_LIB_CACHE/data`` or ``~/.cache/course_lib/data``.

    Examples
    --------
    >>> cache_dir().name
    'data'
    """
    root = os.environ.get(_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "course_lib")
    return Path(root) / "data"


def cache_path(name: str, params: dict[str, Any]) -> Path:
    """The cache file for dataset ``name`` built with ``params`` (the key includes ``DATA_VERSION``).

    Examples
    --------
    >>> cache_path("toy", {"seed": 0}) == cache_path("toy", {"seed": 0})
    True
    >>> cache_path("toy", {"seed": 0}) == cache_path("toy", {"seed": 1})
    False
    """
    key = json.dumps({"name": name, "version": DATA_VERSION, "code": GENERATOR_DIGEST, "params": params},
                     sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / f"{name}-v{DATA_VERSION}-{digest}.pt"


def _valid(payload: Any) -> bool:
    return (isinstance(payload, dict) and isinstance(payload.get("images"), torch.Tensor)
            and payload["images"].dtype == torch.uint8 and payload["images"].ndim == 4
            and isinstance(payload.get("targets"), torch.Tensor)
            and payload["targets"].shape[:1] == payload["images"].shape[:1]
            and isinstance(payload.get("classes"), list))


def _write_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is ordinary data
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cached(name: str, params: dict[str, Any], build: Callable[[], dict[str, Any]], *,
           use_cache: bool = True) -> dict[str, Any]:
    """Load dataset ``name`` from the cache, or ``build()`` it and save it there.

    ``build`` returns a dict with ``images`` (``uint8`` ``N x C x H x W``), ``targets``, ``classes`` and
    optionally ``groups`` and ``meta``. With ``use_cache=False`` nothing is read or written. A cache that
    cannot be written (read-only disk) only costs a warning.

    Examples
    --------
    >>> import torch
    >>> out = cached("toy", {}, lambda: {"images": torch.zeros(1, 1, 2, 2, dtype=torch.uint8),
    ...                                  "targets": torch.zeros(1, dtype=torch.int64), "classes": ["a"]},
    ...              use_cache=False)
    >>> out["classes"]
    ['a']
    """
    if not use_cache:
        return build()
    path = cache_path(name, params)
    if path.exists():
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            if _valid(payload):
                return payload
            raise ValueError("unexpected contents")
        except Exception as err:  # a truncated or foreign file: rebuild it
            warnings.warn(f"the cached dataset {path} could not be read ({type(err).__name__}: {err}); "
                          "generating it again", RuntimeWarning, stacklevel=3)
    payload = build()
    try:
        _write_atomic(path, payload)
    except OSError as err:
        warnings.warn(f"could not save the dataset cache to {path} ({err}); it will be generated again next "
                      f"time. Set {_ENV} to a writable folder to keep it.", RuntimeWarning, stacklevel=3)
    return payload
