"""The one clock every time rule reads. Tests and the sandbox move it; production does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """System time plus an offset that only moves forward: the sandbox's time travel. With a
    `path` the offset is kept in that file, so a restart and the import commands run beside the
    bot read the same time."""

    def __init__(self, offset: timedelta = timedelta(0), path: Path | None = None) -> None:
        self.offset = offset
        self.path = path
        if path is not None and path.exists():
            self.offset = timedelta(seconds=float(path.read_text(encoding="ascii").strip()))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self.offset += delta
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(str(self.offset.total_seconds()), encoding="ascii")
        return self.now()


class FrozenClock:
    """A clock that stands still until moved: for tests."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at += delta
        return self.at
