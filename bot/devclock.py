"""Time travel for the sandbox: a dev-only route of the bot's web server moves the bot's clock
forward and runs every scheduled tick at once, so a person can watch a franchise activate, a
share get charged, a debt reminder arrive and access get suspended and resumed. `main.py`
registers it in sandbox mode only; elsewhere the route does not exist."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from aiohttp import web

from core.notifications.scheduler import Tick

log = logging.getLogger(__name__)
STEPS = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
    "1m": timedelta(days=30),
}


class MovableClock(Protocol):
    def now(self) -> datetime: ...

    def advance(self, delta: timedelta) -> datetime: ...


class ClockControl:
    path = "/dev/clock"

    def __init__(self, clock: MovableClock, ticks: dict[str, tuple[Tick, float]]) -> None:
        self.clock = clock
        self.ticks = ticks

    async def show(self, request: web.Request) -> web.Response:
        return web.json_response({"now": self.clock.now().isoformat()})

    async def move(self, request: web.Request) -> web.Response:
        body = await request.json()
        step = STEPS.get(str(body.get("advance", "")))
        if step is None:
            return web.json_response({"error": f"advance: one of {', '.join(STEPS)}"}, status=400)
        now = self.clock.advance(step)
        for name, (tick, _seconds) in self.ticks.items():
            try:
                await tick()
            except Exception:  # one failing tick must not hide the others' work
                log.exception("tick %s failed during time travel", name)
        return web.json_response({"now": now.isoformat()})

    def register(self, app: web.Application) -> None:
        app.router.add_get(self.path, self.show)
        app.router.add_post(self.path, self.move)
