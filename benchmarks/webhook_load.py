"""Webhook load: the sandbox pushes updates, as Telegram does, through a load balancer to bot
worker processes (`main.py run --role bot`) on PostgreSQL + Redis; 2,000 people each go
through a realistic mix of dialog steps, one step after the bot's answer to the previous one.

    .venv/bin/python -m benchmarks.webhook_load [--users 2000] [--concurrency 300]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench]
        [--redis-url redis://127.0.0.1:6379/1] [--only N-workers] [--kill]
        [--b-side CHECKOUT] [--b-env NAME=VALUE ...]

Prints updates/s, p50/p99 latency (a person's message to the bot's first answer), errors
(no answer within 30 s, or not the expected answer), for 2 workers, for 1, and for 2 with one
killed (SIGKILL) halfway: then no update may be lost (the sandbox sends again what got no 2xx)
and no dialog state lost (each person's registration draft is checked in Redis at the end).

`--b-side` / `--b-env` make one run an A/B comparison that the machine's phase cannot spoil
(this shared machine's speed moves by a factor of two between hours): worker 1 runs the code
of another checkout (say a `git worktree` of main) or with other environment variables, the
balancer gives both workers turns alike, and each worker's CPU per update it answered is
printed. The two sides share the database, so they must agree on its schema.

THE DATABASE AND THE REDIS DATABASE GIVEN ARE WIPED. The balancer is a small round-robin TCP
proxy in this process (per connection, bytes only, as cheap as it gets in Python: it stands in
for nginx, which costs a real deployment's workers nothing) that, like nginx's
`proxy_next_upstream error`, tries the next worker when one refuses the connection (a POST
already sent is not replayed: the sandbox retries it).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import asyncpg
import redis.asyncio as aioredis
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage
from aiohttp import ClientSession, ClientTimeout, TCPConnector
from sqlalchemy.engine import make_url

from core.accounts.crypto import Vault, generate_key
from core.clock import SystemClock
from core.db import create_engine, create_session_factory, migrate
from core.demo import seed_demo_data
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from sandbox.telegram.state import StoredMessage
from tests.live import eventually, free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7000000001:load-benchmark"
SECRET = "load-benchmark-secret"
FIRST_USER = 600_000_000
STEP_TIMEOUT = 120.0  # a dead worker's claim and chat lock expire after 30 s


@dataclass
class Step:
    name: str
    send: Callable[[ClientSession, str, int], Awaitable[None]]
    expect: str  # words of the answer that ends the step


async def _post(http: ClientSession, url: str, body: dict[str, object]) -> None:
    async with http.post(url, json=body) as response:
        assert response.status == 200, await response.text()


def text(value: str) -> Callable[[ClientSession, str, int], Awaitable[None]]:
    async def send(http: ClientSession, url: str, user: int) -> None:
        body = {"text": value.format(n=user), "from": {"first_name": "Анна", "language_code": "ru"}}
        await _post(http, url, body)

    return send


async def contact(http: ClientSession, url: str, user: int) -> None:
    await _post(http, url, {"contact": {"phone_number": f"+7916{user % 10_000_000:07d}"}})


async def location(http: ClientSession, url: str, user: int) -> None:
    await _post(http, url, {"location": {"latitude": 55.7558, "longitude": 37.6173}})


STEPS = [
    Step("start", text("/start"), "Здравствуйте"),
    Step("help", text("/help"), "/menu"),
    Step("nearest clinics", location, "клиник"),
    Step("registration", text("📝 Регистрация"), "Шаг 1 из 8"),
    Step("phone", contact, "Шаг 2 из 8"),
    Step("e-mail", text("user{n}@example.org"), "6-значный код"),
    Step("wrong code", text("000000"), "Неверный код"),
]


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)  # the chats of the people who got stuck
    done: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Answers:
    """The bot's messages as the sandbox stores them: per chat, the answer a person waits for
    (a step may bring several messages; the one with the expected words ends the wait)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.waiting: dict[int, tuple[str, asyncio.Future[None]]] = {}
        sandbox.state.observers.append(self._seen)

    def _seen(self, stored: StoredMessage) -> None:
        if stored.sender != "bot" or stored.chat_id not in self.waiting:
            return
        expected, future = self.waiting[stored.chat_id]
        if expected in (stored.api.get("text") or "") and not future.done():
            del self.waiting[stored.chat_id]
            future.set_result(None)

    def expect(self, chat_id: int, words: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = (words, future)
        return future


async def person(
    http: ClientSession, sandbox: Sandbox, answers: Answers, user: int, figures: Figures
) -> None:
    url = f"{sandbox.url}/sandbox/api/users/{user}/messages"
    for step in STEPS:
        answer = answers.expect(user, step.expect)
        started = time.perf_counter()
        await step.send(http, url, user)
        try:
            await asyncio.wait_for(answer, STEP_TIMEOUT)
        except TimeoutError:
            figures.error(f"{step.name}: no expected answer in {STEP_TIMEOUT:.0f} s")
            chat = sandbox.state.messages.get(user, {}).values()
            figures.details.append(
                f"{user}: "
                + " | ".join(f"{m.sender}: {(m.api.get('text') or '')[:50]}" for m in chat)
            )
            return
        figures.latencies.append(time.perf_counter() - started)
        figures.done += 1


class Balancer:
    """Round robin over the workers, per connection, as bytes: no HTTP parsed here, so the
    stand-in for nginx costs this shared machine what a proxy in C would, not two more
    aiohttp requests per update (a fifth of the harness's CPU). A connection a worker refuses
    goes to the next (nginx: `proxy_next_upstream error`); one that breaks mid-request is
    closed, and the sandbox sends its update again, as Telegram does."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.turn = itertools.count()
        self.answered: dict[str, int] = {}  # 2xx answers per worker (their status lines)
        self.server: asyncio.Server | None = None
        self.fronts: set[_Front] = set()

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Front(self), "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for front in list(self.fronts):
            front.transport.close()

    async def connect(self, front: _Front) -> None:
        loop = asyncio.get_running_loop()
        for _ in self.upstreams:
            upstream = self.upstreams[next(self.turn) % len(self.upstreams)]
            host, port = upstream.removeprefix("http://").split(":")
            back = functools.partial(_Back, front, self, upstream)
            try:
                await loop.create_connection(back, host, int(port))
            except OSError:
                continue  # refused: the next worker
            return
        front.transport.close()


class _Front(asyncio.Protocol):
    """The sandbox's side of one connection."""

    def __init__(self, balancer: Balancer) -> None:
        self.balancer = balancer
        self.back: _Back | None = None
        self.early: list[bytes] = []  # what came before the worker's side was open

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.balancer.fronts.add(self)
        # Held here: the loop keeps only a weak reference to a task.
        self.connecting = asyncio.get_running_loop().create_task(self.balancer.connect(self))

    def data_received(self, data: bytes) -> None:
        if self.back is None:
            self.early.append(data)
        else:
            self.back.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.balancer.fronts.discard(self)
        if self.back is not None:
            self.back.transport.close()


class _Back(asyncio.Protocol):
    """A worker's side of it."""

    def __init__(self, front: _Front, balancer: Balancer, upstream: str) -> None:
        self.front, self.balancer, self.upstream = front, balancer, upstream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.front.transport.is_closing():
            self.transport.close()
            return
        self.front.back = self
        for data in self.front.early:
            self.transport.write(data)
        self.front.early.clear()

    def data_received(self, data: bytes) -> None:
        answered = data.count(b"HTTP/1.1 2")
        if answered:
            self.balancer.answered[self.upstream] = (
                self.balancer.answered.get(self.upstream, 0) + answered
            )
        self.front.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.front.transport.close()


async def reset(database_url: str, redis_url: str) -> None:
    url = make_url(database_url)
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database="postgres",
    )  # fmt: skip
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await admin.close()
    target = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database=url.database,
    )  # fmt: skip
    try:
        await target.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await target.close()
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()


async def start_worker(
    n: int, balancer: str, sandbox: Sandbox, args: argparse.Namespace, key: str, logs: Path
) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    database_url, redis_url = args.database_url, args.redis_url
    b_side = n == 1 and (args.b_side or args.b_env)
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": sandbox.url,
        "WEBHOOK_URL": balancer,
        "WEBHOOK_SECRET": SECRET,
        "WEB_PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATA_ENCRYPTION_KEY": key,
        "SMTP_HOST": sandbox.config.host,
        "SMTP_PORT": str(sandbox.config.smtp_port),
        "THROTTLE_RATE": "0.05",  # machines type fast; the Redis flood limit still runs
        "THROTTLE_BURST": "10",
    }
    if b_side:
        env.update(item.split("=", 1) for item in args.b_env)
    with (logs / f"worker{n}.log").open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "main.py", "run", "--role", "bot",
            cwd=(b_side and args.b_side) or ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    return process, port


async def healthy(
    http: ClientSession, port: int, process: asyncio.subprocess.Process, within: float = 300
) -> None:
    """Until the worker answers /health: starting one (imports, migrations check) takes seconds
    when idle and much longer on a loaded machine, so the deadline is generous."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"a worker exited with {process.returncode}")
        try:
            async with http.get(f"http://127.0.0.1:{port}/health") as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"a worker did not start within {within:.0f} s")


async def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        database="postgres",
    )  # fmt: skip
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await admin.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVICES = ("postgres", "redis-server")


def services_cpu() -> float:
    """CPU seconds of this machine's PostgreSQL and Redis processes (the workers' connections
    are held open during the load, so their backends' time is read before they go)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        if text[text.index("(") + 1 : text.rindex(")")] in SERVICES:
            total += cpu_seconds(int(stat.parent.name))
    return total


def own_cpu() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    return mine.ru_utime + mine.ru_stime


async def drafts_kept(redis_url: str, users: range) -> int:
    """People whose registration draft (phone and e-mail, waiting for the code) is in Redis."""
    storage = RedisStorage.from_url(redis_url, key_builder=DefaultKeyBuilder(with_destiny=True))
    kept = 0
    try:
        for user in users:
            key = StorageKey(bot_id=int(TOKEN.split(":")[0]), chat_id=user, user_id=user)
            state = await storage.get_state(key)
            data = str(await storage.get_data(key))
            kept += state == "Registration:email_code" and f"user{user}@example.org" in data
    finally:
        await storage.close()
    return kept


@dataclass
class Outcome:
    steps: int  # steps answered
    errors: dict[str, int]
    kept: int  # people whose registration draft is in Redis


async def scenario(args: argparse.Namespace, workers: int, kill: bool) -> Outcome:
    await reset(args.database_url, args.redis_url)
    await migrate(args.database_url)
    key = generate_key()
    engine = create_engine(args.database_url)
    await seed_demo_data(
        create_session_factory(engine), Vault(key.encode()), now=SystemClock().now()
    )
    await engine.dispose()
    users = range(FIRST_USER, FIRST_USER + args.users)
    figures = Figures()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.logs or scratch
        config = SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)
        async with (
            running_sandbox(config) as sandbox,
            ClientSession(connector=TCPConnector(limit=0), timeout=ClientTimeout(total=60)) as http,
        ):
            answers = Answers(sandbox)
            ports: list[int] = []
            processes = []
            balancer = Balancer([])
            front = await balancer.start()
            try:
                for n in range(workers):
                    process, port = await start_worker(n, front, sandbox, args, key, Path(tmp))
                    processes.append(process)
                    ports.append(port)
                for n, (process, port) in enumerate(zip(processes, ports, strict=True)):
                    try:
                        await healthy(http, port, process)
                    except RuntimeError:
                        print((Path(tmp) / f"worker{n}.log").read_text()[-3000:], file=sys.stderr)
                        raise
                balancer.upstreams = [f"http://127.0.0.1:{port}" for port in ports]
                idle = [cpu_seconds(p.pid) for p in processes]  # start-up is not the load
                harness, services = own_cpu(), services_cpu()
                gate = asyncio.Semaphore(args.concurrency)

                async def one(user: int) -> None:
                    async with gate:
                        await person(http, sandbox, answers, user, figures)

                started = time.perf_counter()
                everyone = asyncio.gather(*(one(user) for user in users))
                if kill:
                    half = len(STEPS) * args.users // 2
                    await eventually(lambda: figures.done >= half, within=600)
                    processes[0].send_signal(signal.SIGKILL)
                    print(f"  killed worker 0 after {figures.done:,} answered steps")
                await everyone
                elapsed = time.perf_counter() - started
                busy = [cpu_seconds(p.pid) for p in processes if p.returncode is None]
                each = [
                    (cpu_seconds(p.pid) - before, balancer.answered.get(upstream, 0))
                    for p, before, upstream in zip(processes, idle, balancer.upstreams, strict=True)
                    if p.returncode is None
                ]
                harness, services = own_cpu() - harness, services_cpu() - services
                load = sum(
                    cpu_seconds(p.pid) - before
                    for p, before in zip(processes, idle, strict=True)
                    if p.returncode is None
                )
                for process in processes:
                    if process.returncode is None:
                        process.send_signal(signal.SIGTERM)
                    await process.wait()
            finally:  # a worker that did not start, or a failure: none is left running
                for process in processes:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
                await balancer.close()
            kept = await drafts_kept(args.redis_url, users)
            pushed_errors = sandbox.state.webhook or {}
    steps = len(figures.latencies)
    ordered = sorted(figures.latencies) or [0.0]
    title = f"{workers} worker{'s' if workers > 1 else ''}" + (
        ", one killed halfway" if kill else ""
    )
    print(f"{title}: {args.users:,} people, {steps:,} of {len(STEPS) * args.users:,} steps")
    print(f"  {steps / elapsed:.0f} updates/s over {elapsed:.1f} s")
    print(
        f"  latency p50 {statistics.median(ordered) * 1000:.0f} ms, "
        f"p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:.0f} ms"
    )
    print(f"  errors: {sum(figures.errors.values())} {figures.errors or ''}")
    for chat in figures.details:
        print(f"    {chat}")
    mine = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"  CPU: surviving workers {', '.join(f'{b:.0f} s' for b in busy)}; this process "
        f"(sandbox, balancer, people) {mine.ru_utime + mine.ru_stime:.0f} s in total so far"
    )
    if not kill:  # a killed worker's CPU cannot be read any more
        print(f"  worker CPU per update: {load / max(steps, 1) * 1000:.2f} ms (during the load)")
        for n, (cpu, answered) in enumerate(each):
            side = " (the B side)" if n == 1 and (args.b_side or args.b_env) else ""
            print(
                f"    worker {n}{side}: {cpu / max(answered, 1) * 1000:.2f} ms per update "
                f"it answered ({answered:,})"
            )
    print(
        f"  other CPU per update during the load: this process {harness / max(steps, 1) * 1000:.2f}"
        f" ms, PostgreSQL and Redis {services / max(steps, 1) * 1000:.2f} ms"
    )
    print(f"  dialog state kept: {kept:,} of {args.users:,} drafts in Redis")
    if pushed_errors.get("last_error_message"):
        print(f"  the sandbox's last webhook error: {pushed_errors['last_error_message']}")
    return Outcome(steps, figures.errors, kept)


async def main(args: argparse.Namespace) -> None:
    runs = [(2, False), (1, False), (2, True)]
    if args.only:
        runs = [(args.only, args.kill)]
    for workers, kill in runs:
        await scenario(args, workers, kill)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
        ),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--only", type=int, help="one run with this many workers")
    parser.add_argument("--kill", action="store_true", help="with --only: kill one halfway")
    parser.add_argument("--logs", help="keep the workers' logs in this folder")
    parser.add_argument("--b-side", help="worker 1 runs the code of this checkout")
    parser.add_argument(
        "--b-env", action="append", default=[], help="NAME=VALUE for worker 1 only (repeatable)"
    )
    asyncio.run(main(parser.parse_args()))
