"""Exact-type comparisons for graded test cells: ``same`` and ``of_type``.

``assert result == expected`` trusts ``result``: an object whose ``__eq__`` always returns True, a ``str`` subclass
that lies, or a ``dict`` subclass whose ``__getitem__`` answers what the test wants all pass it. These helpers check
``type(got) is type(want)`` first (recursively through tuples, lists and dicts; plain ``str``, ``int``, ``float``,
``bool`` and ``None`` at the leaves) and only then compare values, so every comparison runs on built-in types whose
methods a submission cannot replace. The grader imports and pins this module before any notebook cell runs
(``grading/execute.py``), so a submission cannot monkeypatch it either.

Messages are safe to show a learner: they name the property checked (the ``message`` you pass) and the types
expected and got, never the expected value.

Examples
--------
>>> same(0.5, 0.5, "accuracy of 2 right out of 4")
>>> same((0.75, 0.5), (0.75, 0.5), "precision and recall")
>>> same(1, 1.0, "a count")
Traceback (most recent call last):
...
AssertionError: a count: expected float, got int
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["same", "of_type", "describe", "int_array", "uses"]

_LEAVES = (str, int, float, bool, type(None))
_CONTAINERS = (tuple, list, dict)
_type, _len, _isclose, _isinstance, _sorted, _repr, _zip = type, len, math.isclose, isinstance, sorted, repr, zip


def describe(value: Any) -> str:
    """A short, value-free description of a value's type, for messages.

    Examples
    --------
    >>> describe((1.0, 2))
    'tuple of 2 (float, int)'
    >>> describe({"tp": 1})
    'dict'
    """
    kind = _type(value)
    if kind in (tuple, list) and 0 < _len(value) <= 6:
        inner = ", ".join(_type(v).__name__ for v in value)
        return f"{kind.__name__} of {_len(value)} ({inner})"
    if kind.__module__ not in ("builtins",):
        return f"{kind.__module__}.{kind.__name__}"
    return kind.__name__


def _spec_name(spec: Any) -> str:
    if _type(spec) is type:
        return spec.__name__
    if _type(spec) in (tuple, list):
        return f"{_type(spec).__name__} of {_len(spec)}"
    return "dict"


def _check_types(got: Any, spec: Any, where: str) -> str:
    """'' when ``got`` matches ``spec``; else a value-free explanation."""
    if _type(spec) is type:
        if _type(got) is spec:
            return ""
        return f"{where}expected {spec.__name__}, got {describe(got)}"
    if _type(spec) in (tuple, list):
        if _type(got) is not _type(spec):
            return f"{where}expected {_spec_name(spec)}, got {describe(got)}"
        if _len(got) != _len(spec):
            return f"{where}expected {_type(spec).__name__} of {_len(spec)} items, got {_len(got)}"
        for i, (g, s) in enumerate(_zip(got, spec)):
            why = _check_types(g, s, f"item {i}: ")
            if why:
                return f"{where}{why}"
        return ""
    if _type(spec) is dict:
        if _type(got) is not dict:
            return f"{where}expected dict, got {describe(got)}"
        if _type(spec) is dict and set(spec) != set(got) or any(_type(k) not in _LEAVES for k in dict.keys(got)):
            return f"{where}expected a dict with exactly the keys {_sorted(spec, key=_repr)}"
        for key in spec:
            why = _check_types(dict.__getitem__(got, key), spec[key], f"[{key!r}]: ")
            if why:
                return f"{where}{why}"
        return ""
    raise TypeError(f"of_type: spec must be a type, or a tuple/list/dict of specs, got {spec!r}")


def of_type(got: Any, spec: Any, message: str) -> Any:
    """Assert that ``got`` has exactly the types in ``spec`` (no subclasses); return ``got``.

    ``spec`` is a type (``float``), or a tuple/list of specs (``(float, float)``: a tuple of two floats), or a dict of
    specs (``{"tp": int, "fp": int}``: a plain dict with exactly these keys).

    Examples
    --------
    >>> of_type({"tp": 1, "fp": 0}, {"tp": int, "fp": int}, "counts")
    {'tp': 1, 'fp': 0}
    >>> of_type([0.5, 0.25], (float, float), "precision and recall")
    Traceback (most recent call last):
    ...
    AssertionError: precision and recall: expected tuple of 2, got list of 2 (float, float)
    """
    why = _check_types(got, spec, "")
    if why:
        raise AssertionError(f"{message}: {why}")
    return got


def _spec_of(want: Any) -> Any:
    kind = _type(want)
    if kind in (tuple, list):
        return kind(_spec_of(v) for v in want)
    if kind is dict:
        return {k: _spec_of(v) for k, v in want.items()}
    if kind in _LEAVES:
        return kind
    raise TypeError(f"same: want must be built from str, int, float, bool, None, tuple, list and dict, got {kind}")


def _equal(got: Any, want: Any, rel_tol: float, abs_tol: float) -> bool:
    kind = _type(want)
    if kind is float:
        if math.isnan(want):
            return math.isnan(got)
        return _isclose(got, want, rel_tol=rel_tol, abs_tol=abs_tol)
    if kind in (tuple, list):
        return all(_equal(g, w, rel_tol, abs_tol) for g, w in _zip(got, want))
    if kind is dict:
        return all(_equal(dict.__getitem__(got, k), v, rel_tol, abs_tol) for k, v in want.items())
    return got == want  # plain str / int / bool / None on both sides (types checked first)


def same(got: Any, want: Any, message: str, *, rel_tol: float = 1e-9, abs_tol: float = 1e-12) -> None:
    """Assert that ``got`` has exactly ``want``'s types and equals it (floats within a tolerance).

    The message names ``message`` and, for a type mismatch, the types; it never shows ``want``.

    Examples
    --------
    >>> same({"tp": 2, "fp": 1}, {"tp": 2, "fp": 1}, "counts")
    >>> same(0.1 + 0.2, 0.3, "a sum")
    >>> same(("a", 0.5), ("b", 0.5), "worst class and its recall")
    Traceback (most recent call last):
    ...
    AssertionError: worst class and its recall
    """
    why = _check_types(got, _spec_of(want), "")
    if why:
        raise AssertionError(f"{message}: {why}")
    if not _equal(got, want, rel_tol, abs_tol):
        raise AssertionError(message)


def int_array(got: Any, message: str, shape: tuple[int, ...] | None = None) -> Any:
    """Assert that ``got`` is exactly a ``numpy.ndarray`` (no subclass) of integers, of ``shape`` if given.

    Examples
    --------
    >>> import numpy as np
    >>> int_array(np.zeros((2, 2), dtype=int), "a confusion matrix", (2, 2)).shape
    (2, 2)
    >>> int_array([[1, 0], [0, 1]], "a confusion matrix")
    Traceback (most recent call last):
    ...
    AssertionError: a confusion matrix: expected numpy.ndarray, got list of 2 (list, list)
    """
    import numpy as np

    if _type(got) is not np.ndarray:
        raise AssertionError(f"{message}: expected numpy.ndarray, got {describe(got)}")
    if got.dtype.kind not in "iu":
        raise AssertionError(f"{message}: expected an integer array, got dtype {got.dtype}")
    if shape is not None and tuple(got.shape) != tuple(shape):
        raise AssertionError(f"{message}: expected shape {tuple(shape)}, got {tuple(got.shape)}")
    return got


def _references(code: Any, scope: dict, closure: dict, seen: set) -> list[tuple[str, Any]]:
    """(name, object or None) for every global, closure, attribute-of-a-module and method name the code loads."""
    import builtins
    import dis
    import sys
    import types

    if id(code) in seen:
        return []
    seen.add(id(code))
    missing = object()
    found: list[tuple[str, Any]] = []
    last: Any = missing
    imported: Any = missing
    for ins in dis.get_instructions(code):
        name = ins.argval if _type(ins.argval) is str else None
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            last = scope.get(name, getattr(builtins, name, missing))
            found.append((name, None if last is missing else last))
        elif ins.opname in ("LOAD_DEREF", "LOAD_CLOSURE") and name in closure:
            last = closure[name]
            found.append((name, last))
        elif ins.opname == "IMPORT_NAME":
            imported = last = sys.modules.get(name, missing)
            found.append((name, None if last is missing else last))
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM"):
            owner = imported if ins.opname == "IMPORT_FROM" else last
            value = getattr(owner, name, missing) if _isinstance(owner, types.ModuleType) else missing
            found.append((name, None if value is missing else value))
            last = value
        else:
            last = missing
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            found += _references(const, scope, closure, seen)
    return found


def uses(fn: Any, *forbidden: Any, depth: int = 3) -> list[str]:
    """Names in ``fn``'s code (and in the functions it calls from its own module) that reach ``forbidden``.

    Each forbidden item is a name (``"confusion_matrix"``: any global, attribute or import of that name) or an object
    (the library function itself, caught under any alias, as a global or as ``module.attribute``). Test cells use it
    to check a task's "do not call X".

    Examples
    --------
    >>> import math
    >>> def root(x):
    ...     return math.sqrt(x)
    >>> uses(root, "sqrt"), uses(root, math.sqrt), uses(root, math.floor)
    (['sqrt'], ['sqrt'], [])
    """
    bad_names = {f for f in forbidden if _type(f) is str}
    bad_ids = {id(f) for f in forbidden if _type(f) is not str}
    found: set[str] = set()
    todo, seen_fns, seen_code = [(fn, 0)], set(), set()
    while todo:
        f, level = todo.pop()
        code = getattr(f, "__code__", None)
        if code is None or id(f) in seen_fns:
            continue
        seen_fns.add(id(f))
        scope = getattr(f, "__globals__", {})
        closure = {}
        for name, cell in _zip(code.co_freevars, f.__closure__ or ()):
            try:
                closure[name] = cell.cell_contents
            except ValueError:
                continue
        for name, value in _references(code, scope, closure, seen_code):
            if name in bad_names or (value is not None and id(value) in bad_ids):
                found.add(name)
            elif level < depth and hasattr(value, "__code__") and getattr(value, "__globals__", None) is scope:
                todo.append((value, level + 1))
    return _sorted(found)
