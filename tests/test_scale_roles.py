"""Roles: what each process refuses, and a `web` process serving payment notifications and
health without the webhook."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from aiohttp import ClientSession
from pydantic import SecretStr

from core.config import Settings
from main import Role, run
from tests.conftest import TEST_KEY
from tests.live import PATIENCE, STARTUP, TOKEN, free_port

ROOT = Path(__file__).resolve().parent.parent


async def test_sandbox_mode_runs_everything_in_one_process(settings: Settings) -> None:
    with pytest.raises(SystemExit, match="roles need BOT_TOKEN"):
        await run(settings.model_copy(update={"bot_token": None}), Role.BOT)


async def test_bot_workers_need_the_shared_webhook_secret(settings: Settings) -> None:
    webhook = settings.model_copy(
        update={"bot_token": SecretStr(TOKEN), "webhook_url": "https://bot.example"}
    )
    with pytest.raises(SystemExit, match="WEBHOOK_SECRET must be set"):
        await run(webhook, Role.BOT)


async def test_a_web_process_serves_payments_and_health_not_the_webhook(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": "http://127.0.0.1:9",  # never called by this role
        "WEBHOOK_URL": "https://bot.example",
        "WEBHOOK_SECRET": "s3cret",
        "WEB_PORT": str(port),
        "DATABASE_URL": database_url,
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "PAYMENT_PROVIDER_URL": "http://127.0.0.1:9",
        "PAYMENT_NOTIFICATION_NETWORKS": '["10.0.0.0/8"]',
        "REDIS_URL": "",
    }
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "main.py", "run", "--role", "web",
            cwd=ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with ClientSession() as http:
            deadline = time.monotonic() + STARTUP  # a loaded machine starts a process slowly
            while True:
                assert process.returncode is None, log.read_text()
                assert time.monotonic() < deadline, "the web process did not start"
                try:
                    async with http.get(f"{base}/health") as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                await asyncio.sleep(0.05)
            async with http.post(f"{base}/payments/notifications", json={}) as response:
                assert response.status == 403, "from outside the provider's networks"
            async with http.post(f"{base}/telegram/webhook", json={"update_id": 1}) as response:
                assert response.status == 404, "no webhook in a web process"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), PATIENCE) == 0, log.read_text()
    assert "stopped cleanly" in log.read_text()
