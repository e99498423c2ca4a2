"""The load benchmark at a small size, as a test: two `main.py run --role bot` workers on
PostgreSQL + Redis behind a balancer, the sandbox pushing like Telegram; one worker is SIGKILLed
halfway. Every step still gets its answer and every registration draft survives in Redis.

The benchmark wipes the database it is given, so each run gets its own, named after the test
database and a random suffix (two runs side by side cannot collide), dropped at the end; the
workers keep their state in the test Redis database, which the dialog tests flush anyway."""

from __future__ import annotations

import argparse
import secrets

import pytest
from sqlalchemy.engine import make_url

from benchmarks.webhook_load import STEPS, drop_database, scenario
from tests.conftest import POSTGRES_URL, REDIS_URL

PEOPLE = 30


@pytest.mark.skipif(
    not (POSTGRES_URL and REDIS_URL),
    reason="TEST_DATABASE_URL and TEST_REDIS_URL are needed: the workers share both",
)
async def test_a_worker_killed_halfway_loses_no_update_and_no_dialog_state() -> None:
    assert POSTGRES_URL and REDIS_URL
    url = make_url(POSTGRES_URL)
    database_url = url.set(
        database=f"{url.database}_webhook_{secrets.token_hex(4)}"
    ).render_as_string(hide_password=False)
    args = argparse.Namespace(
        users=PEOPLE,
        concurrency=15,
        database_url=database_url,
        redis_url=REDIS_URL,
        logs=None,
        b_side=None,
        b_env=[],
    )
    try:
        outcome = await scenario(args, workers=2, kill=True)
    finally:
        await drop_database(database_url)
    assert outcome.errors == {}
    assert outcome.steps == len(STEPS) * PEOPLE, "every step answered"
    assert outcome.kept == PEOPLE, "every draft kept"
