"""SQLAlchemy's asyncio calls run on pooled greenlets (core/greenlets.py, issue 19)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from contextvars import ContextVar
from pathlib import Path

import pytest
from greenlet import getcurrent
from sqlalchemy import text
from sqlalchemy.util.concurrency import await_, greenlet_spawn, in_greenlet

from core import greenlets
from core.db import create_engine, create_session_factory

WHO: ContextVar[str] = ContextVar("who", default="nobody")


class Thing:
    pass


def _inside() -> tuple[object, bool, str]:
    return getcurrent(), in_greenlet(), WHO.get()


async def test_calls_reuse_a_greenlet_that_sees_the_callers_context() -> None:
    WHO.set("anna")
    seen = [await greenlets.spawn(_inside) for _ in range(20)]
    assert len({id(g) for g, _, _ in seen}) == 1  # one greenlet, reused
    assert all(provider and who == "anna" for _, provider, who in seen)


async def test_a_call_awaits_inside_and_hands_back_its_result_or_exception() -> None:
    def sums(a: int, b: int) -> int:
        return await_(asyncio.sleep(0, result=a)) + b

    def fails() -> None:
        await_(asyncio.sleep(0))
        raise LookupError("no such row")

    assert await greenlets.spawn(sums, 2, b=3) == 5
    with pytest.raises(LookupError, match="no such row"):
        await greenlets.spawn(fails)
    assert await greenlets.spawn(sums, 4, b=5) == 9  # the greenlet serves the next call


async def test_a_call_cancelled_while_it_awaits_is_cancelled_and_its_greenlet_reused() -> None:
    started = asyncio.Event()
    finished: list[str] = []

    def waits() -> None:
        started.set()
        try:
            await_(asyncio.sleep(10))
        finally:
            finished.append("unwound")

    task = asyncio.create_task(greenlets.spawn(waits))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["unwound"]
    first, _, _ = await greenlets.spawn(_inside)
    second, _, _ = await greenlets.spawn(_inside)
    assert first is second


async def test_concurrent_calls_each_get_a_greenlet() -> None:
    def waits(pause: float) -> object:
        await_(asyncio.sleep(pause))
        return getcurrent()

    ran = await asyncio.gather(*(greenlets.spawn(waits, 0.01) for _ in range(5)))
    assert len({id(g) for g in ran}) == 5


async def test_an_idle_greenlet_keeps_nothing_of_its_last_call() -> None:
    thing = Thing()
    gone = weakref.ref(thing)

    def keeps(argument: Thing) -> Thing:
        return argument

    assert await greenlets.spawn(keeps, thing) is thing
    with pytest.raises(ValueError):
        await greenlets.spawn(_raises_with, thing)
    del thing
    gc.collect()
    assert gone() is None


def _raises_with(argument: Thing) -> None:
    raise ValueError(argument)


async def test_sessions_use_the_pool(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    from sqlalchemy.ext.asyncio import session as async_session

    assert async_session.greenlet_spawn is greenlets.spawn
    assert greenlet_spawn is not greenlets.spawn  # SQLAlchemy's own stays as it was
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session:
            assert (await session.execute(text("SELECT 41 + 1"))).scalar() == 42
            await session.commit()
    finally:
        await engine.dispose()


def test_each_thread_has_its_own_greenlets() -> None:
    def in_a_loop() -> object:
        async def call() -> object:
            return (await greenlets.spawn(_inside))[0]

        return asyncio.run(call())

    import threading

    ran: list[object] = []
    threads = [threading.Thread(target=lambda: ran.append(in_a_loop())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ran) == 2 and ran[0] is not ran[1]
