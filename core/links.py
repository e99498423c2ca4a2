"""Deep links into the bot: `https://t.me/<bot>?start=<payload>` opens a place in the cabinet.

The payload format is fixed (notifications, e-mails and the web chat rely on it):
`policy_<id>`, `debt`, `appeal_<id>` (the appeal's numeric id), `register`, `verify`, `nearby`.
A payload is parsed strictly, like callback data: anything else is no link at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

# Ids are database integers: a payload may not name more than a 32-bit column holds.
MAX_ID = 2**31 - 1
# Telegram's limit for a start parameter: 64 characters of A-Z, a-z, 0-9, _ and -.
MAX_PAYLOAD = 64


class LinkKind(StrEnum):
    POLICY = "policy"
    DEBT = "debt"
    APPEAL = "appeal"
    REGISTER = "register"
    VERIFY = "verify"
    NEARBY = "nearby"


WITH_ID = frozenset({LinkKind.POLICY, LinkKind.APPEAL})
_PAYLOAD = re.compile(r"(?P<kind>[a-z]+)(?:_(?P<id>[1-9][0-9]{0,9}))?")


@dataclass(frozen=True, slots=True)
class StartPayload:
    kind: LinkKind
    id: int = 0

    def __str__(self) -> str:
        return f"{self.kind.value}_{self.id}" if self.kind in WITH_ID else self.kind.value


def parse_start_payload(text: str | None) -> StartPayload | None:
    """The payload of `/start <payload>`, or None for anything that is not exactly one."""
    if not text or len(text) > MAX_PAYLOAD:
        return None
    found = _PAYLOAD.fullmatch(text)
    if found is None:
        return None
    try:
        kind = LinkKind(found["kind"])
    except ValueError:
        return None
    if kind in WITH_ID:
        if found["id"] is None or int(found["id"]) > MAX_ID:
            return None
        return StartPayload(kind, int(found["id"]))
    if found["id"] is not None:
        return None
    return StartPayload(kind)


def policy_payload(policy_id: int) -> str:
    return str(StartPayload(LinkKind.POLICY, policy_id))


def appeal_payload(appeal_id: int) -> str:
    return str(StartPayload(LinkKind.APPEAL, appeal_id))


def start_url(bot_username: str, payload: str | StartPayload) -> str:
    """`https://t.me/<bot>?start=<payload>`; the payload must be one `parse_start_payload` reads."""
    text = str(payload)
    if parse_start_payload(text) is None:
        raise ValueError(f"not a start payload: {text!r}")
    return f"https://t.me/{quote(bot_username)}?start={text}"
