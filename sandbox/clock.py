"""The sandbox's clock: the real time plus the bot's time-travel offset.

The bot moves its own clock in sandbox mode (`/dev/clock`); the sandbox learns the offset from
every answer of that route it passes on, so the times a person sees (messages in the web chat,
letters in the mailbox, the bank's "today" for a card's expiry) move with the bot's.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SandboxClock:
    def __init__(self) -> None:
        self.offset = 0.0  # seconds ahead of the real time (behind: a test's frozen clock)

    def timestamp(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def follow(self, moment: str) -> None:
        """The bot says its clock reads `moment` (ISO 8601) now (a restarted bot reads 0 again)."""
        try:
            told = datetime.fromisoformat(moment)
        except ValueError:
            return
        if told.tzinfo is None:
            told = told.replace(tzinfo=UTC)
        self.offset = told.timestamp() - time.time()
