"""The scheduler's own settings: missed runs are logged and collapse into one, a failing tick
is logged and runs again next time."""

from __future__ import annotations

import logging
import time

import pytest

from core.notifications.scheduler import create_scheduler
from tests.live import eventually


async def test_a_missed_run_is_logged_and_a_failing_tick_keeps_its_schedule(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[str] = []

    async def slow_to_start() -> None:
        runs.append("due")

    async def failing() -> None:
        runs.append("failing")
        raise RuntimeError("the database went away")

    scheduler = create_scheduler(
        {"due": (slow_to_start, 1.5), "failing": (failing, 0.5)}, misfire_grace=1
    )
    with caplog.at_level(logging.WARNING, logger="core.notifications.scheduler"):
        scheduler.start()
        time.sleep(2.7)  # noqa: ASYNC251 - the process is busy past a run time and its grace
        await eventually(
            lambda: (
                runs.count("failing") >= 2
                and "due" in runs
                and "scheduled tick due missed its run" in caplog.text
            )
        )
        scheduler.shutdown(wait=False)
    assert "scheduled tick due missed its run" in caplog.text
    assert "scheduled tick failing failed" in caplog.text
    assert runs.count("failing") >= 2, "a failure does not stop the tick"
    assert "due" in runs, "the next run after the miss does the work"
