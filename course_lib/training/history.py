"""What happened while training: one record per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["History"]

COLUMNS = ("epoch", "stage", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")


@dataclass
class History:
    """Per-epoch records of a training run (or of several stages, concatenated).

    ``history["val_loss"]`` gives one column as a list; ``history.records`` the raw dicts.

    Examples
    --------
    >>> h = History()
    >>> h.append(epoch=0, stage="head", train_loss=1.2, train_acc=0.6, val_loss=1.0, val_acc=0.7, lr=1e-3, seconds=0.1)
    >>> h["val_acc"]
    [0.7]
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    diverged: bool = False
    message: str = ""
    stalled: bool = False  #: the run ended with its balanced training accuracy close to chance
    #: one dict per ``fit`` call, as it started: ``stage``, ``trainable`` (trainable values), ``head_lr`` and
    #: ``body_lr`` (highest learning rate of the head's / the body's parameter groups; None when nothing trains there)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def append(self, **record: Any) -> None:
        missing = set(COLUMNS) - set(record)
        if missing:
            raise ValueError(f"History record lacks {sorted(missing)}")
        self.records.append(dict(record))

    def __getitem__(self, column: str) -> list[Any]:
        if column not in COLUMNS:
            raise KeyError(f"No column {column!r}; columns are {', '.join(COLUMNS)}.")
        return [r[column] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def seconds(self) -> float:
        """Total training time."""
        return float(sum(r["seconds"] for r in self.records))

    def stage_starts(self) -> dict[str, int]:
        """``{stage: index of its first epoch}``; e.g. where the two-stage recipe unfroze the body."""
        starts: dict[str, int] = {}
        for i, r in enumerate(self.records):
            starts.setdefault(r["stage"], i)
        return starts

    def stage(self, name: str) -> History:
        """The records of one stage only."""
        return History([r for r in self.records if r["stage"] == name],
                       calls=[dict(c) for c in self.calls if c["stage"] == name])

    def __add__(self, other: History) -> History:
        """Concatenate two runs (e.g. the head stage and the body stage); epochs renumbered to continue."""
        offset = len(self.records)
        recs = self.records + [{**r, "epoch": r["epoch"] + offset} for r in other.records]
        best = other.best_epoch + offset if other.best_epoch is not None else self.best_epoch
        return History(recs, best, self.stopped_early or other.stopped_early, self.diverged or other.diverged,
                       " ".join(m for m in (self.message, other.message) if m), self.stalled or other.stalled,
                       [dict(c) for c in self.calls + other.calls])

    def final(self, column: str = "val_acc") -> Any:
        """The last recorded value of a column (``None`` when empty)."""
        return self.records[-1][column] if self.records else None

    def __repr__(self) -> str:
        if not self.records:
            return "History(empty)"
        last = self.records[-1]
        stages = "+".join(self.stage_starts())
        val = f", val_acc={last['val_acc']:.3f}" if last["val_acc"] is not None else ""
        flags = ((" stopped early" if self.stopped_early else "") + (" DIVERGED" if self.diverged else "")
                 + (" STALLED" if self.stalled else ""))
        return (f"History({len(self.records)} epochs [{stages}], train_acc={last['train_acc']:.3f}{val}, "
                f"{self.seconds:.1f}s{flags})")

    def to_markdown(self) -> str:
        """The records as a markdown table."""
        head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"

        def fmt(v: Any) -> str:
            return f"{v:.4g}" if isinstance(v, float) else str(v)

        return head + "\n".join("| " + " | ".join(fmt(r[c]) for c in COLUMNS) + " |" for r in self.records)
