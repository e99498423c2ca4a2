"""The load benchmark at a small size, as a test: two `main.py run --role bot` workers on
PostgreSQL + Redis behind a balancer, the sandbox pushing like Telegram; one worker is SIGKILLed
halfway. Every step still gets its answer and every registration draft survives in Redis."""

from __future__ import annotations

import argparse

import pytest
from sqlalchemy.engine import make_url

from benchmarks.webhook_load import STEPS, scenario
from tests.conftest import POSTGRES_URL, REDIS_URL

PEOPLE = 30


@pytest.mark.skipif(
    not (POSTGRES_URL and REDIS_URL),
    reason="TEST_DATABASE_URL and TEST_REDIS_URL are needed: the workers share both",
)
async def test_a_worker_killed_halfway_loses_no_update_and_no_dialog_state() -> None:
    assert POSTGRES_URL and REDIS_URL
    args = argparse.Namespace(
        users=PEOPLE,
        concurrency=15,
        database_url=make_url(POSTGRES_URL)
        .set(database="test_webhook_load")
        .render_as_string(hide_password=False),
        redis_url=REDIS_URL.rsplit("/", 1)[0] + "/2",  # not the dialog tests' database
        logs=None,
    )
    outcome = await scenario(args, workers=2, kill=True)
    assert outcome.errors == {}
    assert outcome.steps == len(STEPS) * PEOPLE, "every step answered"
    assert outcome.kept == PEOPLE, "every draft kept"
