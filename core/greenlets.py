"""SQLAlchemy's asyncio calls on long-lived greenlets (issue 19).

Every call of an `AsyncSession` or `AsyncConnection` (execute, commit, close...) runs its sync
counterpart in a greenlet made for that call (`greenlet_spawn`), which awaits the driver from
inside it. On CPython 3.11 a new greenlet also gets its own data stack for Python frames: 16 KB
mapped when its first frame is pushed and unmapped when it ends, with the page faults of
touching it. That was some 10 µs of a 15 µs call, several times per update.

`spawn` keeps the same contract (SQLAlchemy's `await_` inside works as in its own greenlets:
they are marked as providers and their parent is the caller) but runs the call in a greenlet
taken from a pool of idle ones (per thread), which waits for its next call instead of ending. A call that
fails, or is cancelled while it awaits, hands its exception back to the caller as before, and
its greenlet is reused: only a greenlet left suspended in a call that nobody resumes (its task
was destroyed) is not, and it ends when collected. At most `IDLE` wait in the pool.

It leaves out one check: `AsyncConnection.execute` asks `greenlet_spawn` to fail a call that
never awaited (`_require_await`), which is how SQLAlchemy catches a sync driver used by
mistake. The SQLite dialect here (core/sqlite_inline.py) is sync on purpose.

`install()` puts `spawn` where SQLAlchemy's asyncio extension calls `greenlet_spawn`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet

_T = TypeVar("_T")
IDLE = 64  # idle greenlets kept; more are made under load and dropped when done


class _Finished:
    """What a pooled greenlet switches back with when its call has returned or raised."""


_FINISHED = _Finished()


class _Worker(greenlet):  # type: ignore[misc]
    __sqlalchemy_greenlet_provider__ = True  # SQLAlchemy's `await_` works inside

    def __init__(self) -> None:
        super().__init__(self._serve)
        self.result: Any = None
        self.error: BaseException | None = None

    def _serve(self, job: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]) -> None:
        while True:
            fn, args, kwargs = job
            del job  # nothing of a call stays referenced while the greenlet idles
            try:
                self.result = fn(*args, **kwargs)
            except GreenletExit:
                raise  # collected mid-call: end
            except BaseException as error:
                self.error = error
            del fn, args, kwargs
            job = self.parent.switch(_FINISHED)


class _Pool(threading.local):
    """Greenlets belong to a thread: each thread with an event loop has its own idle ones."""

    def __init__(self) -> None:
        self.idle: list[_Worker] = []


_pool = _Pool()


async def spawn(
    fn: Callable[..., _T], *args: Any, _require_await: bool = False, **kwargs: Any
) -> _T:
    """`sqlalchemy.util.concurrency.greenlet_spawn` on a pooled greenlet."""
    idle = _pool.idle
    worker = idle.pop() if idle else _Worker()
    caller = getcurrent()
    worker.parent = caller
    worker.gr_context = caller.gr_context  # the caller's context variables, as SQLAlchemy does
    step = worker.switch((fn, args, kwargs))
    while step is not _FINISHED:
        try:
            value = await step  # an awaitable from `await_` inside the call
        except BaseException:
            step = worker.throw(*sys.exc_info())
        else:
            step = worker.switch(value)
    result, error = worker.result, worker.error
    worker.result = worker.error = None
    if len(idle) < IDLE:
        idle.append(worker)
    if error is not None:
        try:
            raise error
        finally:
            del error
    return result  # type: ignore[no-any-return]


def install() -> None:
    """Used by SQLAlchemy's asyncio extension from now on (idempotent)."""
    from sqlalchemy.ext.asyncio import engine, result, session

    for module in (engine, result, session):
        module.greenlet_spawn = spawn  # type: ignore[attr-defined]
