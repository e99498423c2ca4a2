"""Instructions per update, counted by valgrind: a figure that does not move with the machine.

.venv/bin/python -m benchmarks.instructions [--updates 300] [--mix commands|dialog]

`benchmarks.updates` times the dispatcher; on this shared 2-core machine its figures move by
±25 % between runs of the same code, so a change of a few percent cannot be seen in them. This
script runs the same commands mix (the first `--updates` of `benchmarks.updates`' mix, 20
people, after a warm-up of both dispatchers) under `valgrind --tool=callgrind` with counting
switched on only while the dispatcher handles the measured updates, and prints the
instructions each update took in the cabinet and in the bare aiogram echo. `--mix dialog`
counts `benchmarks.updates`' dialog rounds instead (`--updates` / 12 of them: registration
steps, a policy card, the clinic lists), the echo on the very updates they made; the person's
side of those rounds (building each message and tap) is counted with the cabinet. Two runs of the
same code agree within 0.3 %. Instructions are not time: system calls (the kernel's side of
SQLite's writes, of mapping memory) and cache misses are not in them. So use this to compare
two versions of the code, and `benchmarks.updates` for the figures of the issue.

Needs valgrind (`apt-get install valgrind`); takes about a minute per dispatcher.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WHO = "BENCH_INSTRUCTIONS_WHO"  # set in the process valgrind runs: which dispatcher to count


async def handle(count: int, who: str, mix: str) -> None:
    """Inside valgrind: set up as benchmarks.updates does, then count `who` handling `count`."""
    from aiogram import Bot

    from benchmarks.updates import (
        anna_with_her_policy,
        demo_database,
        dialogs,
        echo_dispatcher,
        make_updates,
        measure,
    )
    from bot.factory import create_dispatcher
    from core.clock import SystemClock
    from tests.dialog import RecordingMailer, RecordingSession

    async with demo_database() as (_, sessions, settings):
        mailbox = RecordingMailer()
        async with Bot("1:bench", session=RecordingSession()) as bot:
            app = create_dispatcher(settings, sessions, SystemClock(), mailer=mailbox)
            echo = echo_dispatcher()
            gc.freeze()
            warm = make_updates(120, 20)
            await measure(app, bot, warm)
            await measure(echo, bot, warm)
            anna = await anna_with_her_policy(app, bot)
            rounds = max(1, count // 12)
            await dialogs(app, bot, mailbox, anna, 2, first=0)
            # Blocking on purpose: nothing else runs while the counting is switched.
            switch = ["callgrind_control", "--instr"]
            on = [*switch, "on", str(os.getpid())]
            off = [*switch, "off", str(os.getpid())]
            if mix == "dialog" and who == "cabinet":
                subprocess.run(on, check=True, capture_output=True)  # noqa: ASYNC221
                await dialogs(app, bot, mailbox, anna, rounds, first=2)
                subprocess.run(off, check=True, capture_output=True)  # noqa: ASYNC221
            else:
                if mix == "dialog":
                    _, updates = await dialogs(app, bot, mailbox, anna, rounds, first=2)
                else:
                    updates = make_updates(count, 20)
                target = app if who == "cabinet" else echo
                subprocess.run(on, check=True, capture_output=True)  # noqa: ASYNC221
                await measure(target, bot, updates)
                subprocess.run(off, check=True, capture_output=True)  # noqa: ASYNC221


def counted(count: int, who: str, mix: str) -> float:
    """Millions of instructions per update for `who`, from a run under valgrind."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "benchmarks.instructions",
                "--updates",
                str(count),
                "--mix",
                mix,
            ],
            env={**os.environ, WHO: who},
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise RuntimeError(f"valgrind printed no count:\n{run.stderr[-2000:]}")
    updates = max(1, count // 12) * 12 if mix == "dialog" else count
    return int(found.group(1)) / updates / 1e6


def main(count: int, mix: str) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    cabinet, echo = counted(count, "cabinet", mix), counted(count, "echo", mix)
    if mix == "dialog":
        print(f"dialog mix: {max(1, count // 12)} rounds, instructions per update (valgrind)")
    else:
        print(f"commands mix: {count} updates from 20 people, instructions per update (valgrind)")
    print(f"cabinet dispatcher     {cabinet:6.3f} M")
    print(f"bare echo dispatcher   {echo:6.3f} M")
    print(f"ratio: the echo's instructions over the cabinet's {echo / cabinet:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--mix", choices=("commands", "dialog"), default="commands")
    args = parser.parse_args()
    who = os.environ.get(WHO)
    if who:
        asyncio.run(handle(args.updates, who, args.mix))
    else:
        main(args.updates, args.mix)
