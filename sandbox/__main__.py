"""`python -m sandbox`: the sandbox alone, for integrators and for bots run elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from sandbox.app import SandboxConfig, running_sandbox


async def _serve(config: SandboxConfig) -> None:
    async with running_sandbox(config) as sandbox:
        print(f"Sandbox: {sandbox.url}  (Bot API at {sandbox.url}/bot<token>/<method>)", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Telegram, bank and mail sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = SandboxConfig(
        host=args.host, port=args.port, smtp_port=args.smtp_port, state_dir=args.state_dir
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))


if __name__ == "__main__":
    main()
