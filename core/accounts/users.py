"""Who is talking to the bot, and in which language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts.models import Account, User
from core.dialog_state import DialogState, read_with
from core.fast_rows import EntityRows

SUPPORTED_LANGUAGES = ("ru", "en")
LAST_SEEN_PRECISION = timedelta(minutes=5)

# Built once: every update reads its user, and building the statement costs more than running
# it (issue 19).
_USER = select(User).where(User.telegram_id == bindparam("telegram_id"))
# Read by every update: on SQLite without the ORM's work per execution (core.fast_rows).
_USER_AND_ACCOUNT = EntityRows(
    select(User, Account)
    .outerjoin(Account, Account.user_id == User.id)
    .where(User.telegram_id == bindparam("telegram_id"))
)
_STEP = DialogState.__table__
_USER_ACCOUNT_AND_STEP = EntityRows(
    select(User, Account, _STEP.c.key, _STEP.c.state, _STEP.c.data)
    .outerjoin(Account, Account.user_id == User.id)
    .outerjoin(_STEP, _STEP.c.key == bindparam("step_key"))
    .where(User.telegram_id == bindparam("telegram_id"))
)


@dataclass(frozen=True, slots=True)
class TelegramProfile:
    telegram_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


def pick_language(language_code: str | None, default: str) -> str:
    """Telegram's `language_code` ("en-US", "ru") mapped onto our catalogs; Russian by default."""
    if language_code:
        base = language_code.split("-")[0].lower()
        if base in SUPPORTED_LANGUAGES:
            return base
    return default


async def get_user(session: AsyncSession, telegram_id: int) -> User | None:
    return await session.scalar(_USER, {"telegram_id": telegram_id})


async def touch_user(
    session: AsyncSession,
    profile: TelegramProfile,
    *,
    now: datetime,
    default_language: str,
    flush: bool = True,
) -> User:
    """Find or create the user of an update; keeps names fresh, keeps a chosen language.
    Only real changes are made, so `user_changed` tells whether anything is to be written."""
    user = await get_user(session, profile.telegram_id)
    return await _refresh(session, user, profile, now, default_language, flush=flush)


async def touch_user_and_account(
    session: AsyncSession,
    profile: TelegramProfile,
    *,
    now: datetime,
    default_language: str,
    step_key: str | None = None,
) -> tuple[User, Account | None]:
    """`touch_user` (without its flush) and the user's account, read in the same statement:
    one SELECT for the rows every update needs (issue 19). With `step_key`, the person's
    dialog step (core.dialog_state) comes in it too, for the rest of the update."""
    if step_key is None:
        row = await _USER_AND_ACCOUNT.first(session, {"telegram_id": profile.telegram_id})
    else:
        row = await _USER_ACCOUNT_AND_STEP.first(
            session, {"telegram_id": profile.telegram_id, "step_key": step_key}
        )
    user, account = (row[0], row[1]) if row is not None else (None, None)
    if row is not None and step_key is not None:  # no user yet: the step is read on its own
        read_with(step_key, (row[2], row[3], row[4]))
    user = await _refresh(session, user, profile, now, default_language, flush=False)
    return user, account


async def _refresh(
    session: AsyncSession,
    user: User | None,
    profile: TelegramProfile,
    now: datetime,
    default_language: str,
    *,
    flush: bool,
) -> User:
    if user is None:
        user = User(
            telegram_id=profile.telegram_id,
            language=pick_language(profile.language_code, default_language),
            created_at=now,
        )
        session.add(user)
    elif not user.language_chosen:
        language = pick_language(profile.language_code, user.language)
        if language != user.language:
            user.language = language
    # Only real changes are written: most updates of a known user cost one SELECT and no write.
    if (user.first_name, user.last_name, user.username) != (
        profile.first_name,
        profile.last_name,
        profile.username,
    ):
        user.first_name = profile.first_name
        user.last_name = profile.last_name
        user.username = profile.username
    if user.last_seen_at is None or now - user.last_seen_at > LAST_SEEN_PRECISION:
        user.last_seen_at = now
    if user.blocked_bot_at is not None:
        user.blocked_bot_at = None
    if flush and user_changed(session):
        await session.flush()
    return user


def user_changed(session: AsyncSession) -> bool:
    return bool(session.new) or any(session.is_modified(row) for row in session.dirty)


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    user.language = language
    user.language_chosen = True
    await session.commit()
