"""APScheduler only ticks; the schedule itself lives in the domain tables as due times.

APScheduler is imported by the process that schedules, when it starts to: a `--role bot` worker
never does (with its thread and process pools, 2 MB; issue 19)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.events import JobExecutionEvent
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[object]]


def _report(event: JobExecutionEvent) -> None:
    from apscheduler.events import EVENT_JOB_MISSED

    if event.code == EVENT_JOB_MISSED:
        log.warning(
            "scheduled tick %s missed its run at %s", event.job_id, event.scheduled_run_time
        )
    elif event.exception is not None:
        log.error("scheduled tick %s failed", event.job_id, exc_info=event.exception)


def create_scheduler(
    ticks: dict[str, tuple[Tick, float]], *, misfire_grace: int = 30
) -> AsyncIOScheduler:
    """One interval job per tick name: (coroutine function, seconds between runs).

    In-memory job store; coalescing on and one instance per job, so a slow tick is never run
    twice at once and missed runs collapse into one. A run later than `misfire_grace` seconds
    is skipped and logged: the tick's next run does its work, as every tick reads what is due
    from the tables, not from the schedule.
    """
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace}
    )
    now = datetime.now(UTC)  # every tick runs once at the start: a new leader catches up at once
    for name, (tick, seconds) in ticks.items():
        scheduler.add_job(tick, "interval", seconds=seconds, id=name, name=name, next_run_time=now)
    scheduler.add_listener(_report, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler
