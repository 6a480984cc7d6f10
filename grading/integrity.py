"""Gradebook integrity: a backup before grading, and a check afterwards that grading changed only what it owns.

Autograding may write exactly these columns, and only for the submissions graded in this run: the submission's
``timestamp``, the notebooks' ``late_submission_penalty``, the grades' ``auto_score`` and ``needs_manual_grade``,
the comments' ``auto_comment``; it may add the rows of a first submission (and its student). Everything else -
assignments, notebooks, cells, hidden tests, other students, every manual score, extra credit and comment - must
come out byte-for-byte the same. ``verify`` lists every difference; ``grade.py`` restores the backup if any.

Examples
--------
>>> import sqlite3, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "gb.db")
>>> con = sqlite3.connect(path); _ = con.execute("create table assignment (id text, name text)"); con.commit()
>>> before = snapshot(path)
>>> verify(before, snapshot(path), graded=set())
[]
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Snapshot", "backup", "restore", "snapshot", "verify", "AUTOGRADE_COLUMNS"]

#: Columns autograding owns, per table (only for the submissions it graded).
AUTOGRADE_COLUMNS = {
    "submitted_assignment": {"timestamp"},
    "submitted_notebook": {"late_submission_penalty"},
    "grade": {"auto_score", "needs_manual_grade"},
    "comment": {"auto_comment"},
}
_SUBMISSION_TABLES = ("submitted_assignment", "submitted_notebook", "grade", "comment")


@dataclass
class Snapshot:
    """Every row of every table, plus who (assignment name, student) each submission row belongs to."""

    tables: dict[str, dict[str, dict]] = field(default_factory=dict)
    owner: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


def _connect_ro(path: str | os.PathLike) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True)


def snapshot(path: str | os.PathLike) -> Snapshot:
    """Read the whole gradebook (read-only).

    Examples
    --------
    >>> import sqlite3, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "g.db"); c = sqlite3.connect(p)
    >>> _ = c.execute("create table student (id text)"); _ = c.execute("insert into student values ('ann')")
    >>> c.commit(); list(snapshot(p).tables["student"])
    ['ann']
    """
    snap = Snapshot()
    with _connect_ro(path) as con:
        con.row_factory = sqlite3.Row
        names = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        for name in names:
            rows = con.execute(f'select rowid as "__rowid__", * from "{name}"').fetchall()
            table: dict[str, dict] = {}
            for row in rows:
                record = dict(row)
                rowid = record.pop("__rowid__")
                key = str(record.get("id", rowid))
                table[key] = record
            snap.tables[name] = table
    t = snap.tables
    if all(k in t for k in ("assignment", *_SUBMISSION_TABLES)):
        names_by_id = {k: r["name"] for k, r in t["assignment"].items()}
        for key, row in t["submitted_assignment"].items():
            snap.owner[("submitted_assignment", key)] = (names_by_id.get(row["assignment_id"], "?"), row["student_id"])
        for key, row in t["submitted_notebook"].items():
            snap.owner[("submitted_notebook", key)] = snap.owner.get(("submitted_assignment", row["assignment_id"]),
                                                                     ("?", "?"))
        for table in ("grade", "comment"):
            for key, row in t[table].items():
                snap.owner[(table, key)] = snap.owner.get(("submitted_notebook", row["notebook_id"]), ("?", "?"))
    return snap


def verify(before: Snapshot, after: Snapshot, graded: Iterable[tuple[str, str]],
           new_students: Iterable[str] = ()) -> list[str]:
    """Differences that grading was not allowed to make (empty list: the gradebook is intact).

    Parameters
    ----------
    before, after : Snapshot
        The gradebook before and after grading.
    graded : iterable of (assignment, student)
        Submissions merged in this run: only their autograde columns may change, only they may gain rows.
    new_students : iterable of str
        Students (of failed submissions) who may be added, without any submission rows.

    Examples
    --------
    >>> verify(Snapshot(tables={"student": {"a": {"id": "a"}}}), Snapshot(tables={"student": {}}), graded=[])
    ['student a: deleted']
    """
    graded = set(graded)
    graded_students = {s for _, s in graded} | set(new_students)
    problems: list[str] = []
    for name, rows in before.tables.items():
        now = after.tables.get(name)
        if now is None:
            problems.append(f"table {name}: deleted")
            continue
        allowed = AUTOGRADE_COLUMNS.get(name, set())
        for key, row in rows.items():
            if key not in now:
                problems.append(f"{name} {key}: deleted")
                continue
            owner = before.owner.get((name, key))
            mine = owner in graded
            for column, value in row.items():
                if now[key].get(column) != value and not (mine and column in allowed):
                    problems.append(f"{name} {key} ({owner[1] + ' / ' + owner[0] if owner else 'course'}): "
                                    f"{column} changed from {value!r} to {now[key].get(column)!r}")
        for key in now.keys() - rows.keys():
            owner = after.owner.get((name, key))
            ok = (name in _SUBMISSION_TABLES and owner in graded) or (name == "student" and key in graded_students)
            if not ok:
                problems.append(f"{name} {key}: added by grading")
    for name in after.tables.keys() - before.tables.keys():
        problems.append(f"table {name}: added")
    return problems


def backup(db: str | os.PathLike, folder: str | os.PathLike, keep: int = 20) -> Path:
    """Copy the gradebook with sqlite's online backup (consistent even while open); keep the newest ``keep``.

    Examples
    --------
    >>> import sqlite3, tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "g.db"); sqlite3.connect(p).close()
    >>> backup(p, os.path.join(d, "b")).exists()
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"gradebook-{stamp}.db"
    with _connect_ro(db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    old = sorted(folder.glob("gradebook-*.db"))
    for stale in old[:-keep] if keep > 0 else []:
        stale.unlink()
    return target


def restore(copy: str | os.PathLike, db: str | os.PathLike) -> None:
    """Put a backup back in place of the gradebook (atomic rename).

    Examples
    --------
    >>> import sqlite3, tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "g.db"); sqlite3.connect(p).close()
    >>> restore(backup(p, d), p); os.path.exists(p)
    True
    """
    tmp = Path(f"{os.fspath(db)}.restore-tmp")
    shutil.copyfile(copy, tmp)
    os.replace(tmp, db)
