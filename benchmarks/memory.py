"""How much memory the bot holds, and how fast `make run` answers after a start.

    .venv/bin/python -m benchmarks.memory --role bot [--people 10000] [--steps 3]
    .venv/bin/python -m benchmarks.memory --role all

`--role bot`: a real `main.py run --role bot` process in webhook mode (SQLite, no Redis), with
the sandbox standing in for Telegram; `--people` distinct people each send `--steps` updates
(/start, the contacts button, /help, ...) straight to its webhook. Its resident set (RSS, from
/proc) is printed every quarter of the way: it should level off, not keep growing.

`--role all`: `main.py` as `make run` starts it (sandbox mode, a fresh `var/` in a temporary
folder): the seconds from the start to the first answer to /start, the RSS then, and after
a rest. Target (issue 19): bot ≤ 120 MB after 10,000 people, all ≤ 200 MB at rest, start ≤ 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from core.accounts.crypto import generate_key
from sandbox.app import SandboxConfig, free_port, running_sandbox

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7000000077:memory-benchmark"
STEPS = ["/start", "☎️ Контакты", "/help", "📄 Документы", "что-то непонятное"]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def cpu_seconds(pid: int) -> float:
    """CPU time of the process and of the children it waited for (the migrations), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def rss_parts(pid: int) -> str:
    """The resident set's heap (anonymous) and mapped files (code, shared libraries)."""
    return f"heap {rss_mb(pid, 'RssAnon'):.0f} MB + files {rss_mb(pid, 'RssFile'):.0f} MB"


async def wait_until(condition: Any, within: float, what: str) -> float:
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > within:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def update(update_id: int, person: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": person, "type": "private", "first_name": "Анна"},
            "from": {"id": person, "is_bot": False, "first_name": "Анна", "language_code": "ru"},
            "text": text,
        },
    }


async def bot_role(people: int, steps: int, concurrency: int) -> None:
    secret = secrets.token_urlsafe(16)
    config = SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)
    with tempfile.TemporaryDirectory() as folder:
        async with running_sandbox(config) as sandbox, ClientSession() as http:
            await http.post(f"{sandbox.url}/sandbox/api/settings", json={"flood_limits": False})
            web_port = free_port()
            env = {
                **os.environ,
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE": sandbox.url,
                "WEBHOOK_URL": f"http://127.0.0.1:{web_port}",
                "WEBHOOK_SECRET": secret,
                "WEB_PORT": str(web_port),
                "DATABASE_URL": f"sqlite+aiosqlite:///{Path(folder) / 'bot.sqlite3'}",
                "DATA_ENCRYPTION_KEY": generate_key(),
                "REDIS_URL": "",
            }
            log = Path(folder) / "bot.log"
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, str(ROOT / "main.py"), "run", "--role", "bot",
                    cwd=folder, env=env, stdout=out, stderr=out,
                )  # fmt: skip
            hook = f"http://127.0.0.1:{web_port}/telegram/webhook"
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}

            async def up() -> bool:
                if process.returncode is not None:
                    raise SystemExit(log.read_text())
                try:
                    async with http.get(f"http://127.0.0.1:{web_port}/health") as response:
                        return response.status == 200
                except OSError:
                    return False

            await wait_until(up, 60, "the bot process")
            print(f"--role bot: started, RSS {rss_mb(process.pid):.0f} MB")
            ids = itertools.count(1)
            queue: asyncio.Queue[int] = asyncio.Queue()
            for person in range(people):
                queue.put_nowait(1_000_000 + person)
            done = [0]

            async def worker() -> None:
                while not queue.empty():
                    person = queue.get_nowait()
                    await http.post(
                        f"{sandbox.url}/sandbox/api/users",
                        json={"id": person, "first_name": "Анна"},
                    )
                    for text in itertools.islice(itertools.cycle(STEPS), steps):
                        body = update(next(ids), person, text)
                        async with http.post(hook, json=body, headers=headers) as response:
                            assert response.status == 200, await response.text()
                    done[0] += 1
                    if done[0] % max(1, people // 4) == 0:
                        print(f"  after {done[0]:>6} people: RSS {rss_mb(process.pid):.0f} MB")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            print(
                f"--role bot: {people} people x {steps} updates in {elapsed:.0f} s; "
                f"RSS {rss_mb(process.pid):.0f} MB"
            )
            await asyncio.sleep(2)  # at rest after the load
            print(
                f"--role bot: at rest after the load, RSS {rss_mb(process.pid):.0f} MB "
                f"({rss_parts(process.pid)})"
            )
            process.send_signal(signal.SIGTERM)
            await process.wait()


async def all_role(rest: float) -> None:
    ports = {"SANDBOX_PORT": free_port(), "WEB_PORT": free_port(), "SANDBOX_SMTP_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update({k: str(v) for k, v in ports.items()})
    env["SMTP_PORT"] = env["SANDBOX_SMTP_PORT"]
    base = f"http://127.0.0.1:{ports['SANDBOX_PORT']}"
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "run.log"
        started = time.monotonic()
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "main.py"), cwd=folder, env=env, stdout=out, stderr=out
            )
        async with ClientSession() as http:

            async def answered() -> bool:
                if process.returncode is not None:
                    raise SystemExit(log.read_text())
                async with http.get(
                    f"{base}/sandbox/api/users/777/messages", params={"wait": 1}
                ) as response:
                    messages = (await response.json())["messages"]
                return any(m["from"] == "bot" for m in messages)

            async def user_exists() -> bool:
                try:
                    async with http.post(
                        f"{base}/sandbox/api/users", json={"id": 777, "first_name": "Анна"}
                    ) as response:
                        return response.status in (200, 201)
                except OSError:
                    if process.returncode is not None:
                        raise SystemExit(log.read_text()) from None
                    return False

            await wait_until(user_exists, 60, "the sandbox")
            await http.post(f"{base}/sandbox/api/users/777/messages", json={"text": "/start"})
            await wait_until(answered, 60, "the first answer")
            first = time.monotonic() - started
            print(
                f"make run: first answer {first:.1f} s after the start "
                f"({cpu_seconds(process.pid):.1f} s of CPU); RSS {rss_mb(process.pid):.0f} MB"
            )
            await asyncio.sleep(rest)
            print(
                f"make run: at rest ({rest:.0f} s later), RSS {rss_mb(process.pid):.0f} MB "
                f"({rss_parts(process.pid)})"
            )
        process.send_signal(signal.SIGINT)
        await process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=["bot", "all"], default="bot")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rest", type=float, default=10)
    args = parser.parse_args()
    if args.role == "bot":
        asyncio.run(bot_role(args.people, args.steps, args.concurrency))
    else:
        asyncio.run(all_role(args.rest))
