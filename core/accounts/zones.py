"""Russia's time zones, by their usual city names: a person's zone decides their quiet hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.policies.care import N_, Translate

DEFAULT_ZONE = "Europe/Moscow"

# In the order of their offsets; every federal subject keeps one of these all year round.
ZONES: dict[str, str] = {
    "Europe/Kaliningrad": N_("Kaliningrad"),
    "Europe/Moscow": N_("Moscow"),
    "Europe/Samara": N_("Samara"),
    "Asia/Yekaterinburg": N_("Yekaterinburg"),
    "Asia/Omsk": N_("Omsk"),
    "Asia/Krasnoyarsk": N_("Krasnoyarsk"),
    "Asia/Irkutsk": N_("Irkutsk"),
    "Asia/Yakutsk": N_("Yakutsk"),
    "Asia/Vladivostok": N_("Vladivostok"),
    "Asia/Magadan": N_("Magadan"),
    "Asia/Kamchatka": N_("Kamchatka"),
}


def zone_of(name: str | None) -> ZoneInfo:
    """The zone a person chose, Moscow when they chose none (or a name no longer known)."""
    return ZoneInfo(name if name in ZONES else DEFAULT_ZONE)


def zone_title(name: str | None, _: Translate, now: datetime) -> str:
    """`Yekaterinburg (UTC+5)`: the city and the offset at `now`."""
    key = name if name in ZONES else DEFAULT_ZONE
    offset = now.astimezone(ZoneInfo(key)).utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    city = _(ZONES[key])
    return f"{city} (UTC{hours:+d})"
