"""The life of an appeal: filed (with a number and a receipt), taken by an operator, answered
(the answer goes to the person through the outbox), followed up, closed with a rating.

A person only ever reaches their own appeals; operators act through the desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.appeals.cases import CaseStage, check_cover
from core.appeals.models import (
    DISPUTES,
    OPEN_STATUSES,
    Appeal,
    AppealKind,
    AppealMessage,
    AppealOutcome,
    AppealStatus,
    Author,
    shown_operator,
)
from core.billing.disputes import close_share_dispute, dispute_share
from core.errors import DomainError, NotFoundError
from core.formatting import MOSCOW
from core.notifications.outbox import enqueue, withdraw
from core.policies.models import Policy

DAY = timedelta(days=1)


class AppealClosed(DomainError):
    """Nothing can be added to a closed appeal."""


class ReopenExpired(DomainError):
    """A closed appeal can be reopened only for a set number of days after it was closed."""


class AlreadyRated(DomainError):
    """An appeal is rated once per closing (reopened, it can be rated again)."""


class TooManyAppeals(DomainError):
    """Against floods: at most a set number of new appeals in 24 hours."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(retry_at.isoformat())
        self.retry_at = retry_at


async def check_daily_limit(
    session: AsyncSession, user_id: int, now: datetime, per_day: int
) -> None:
    """Raise TooManyAppeals, with the moment a new one is allowed, if the person filed
    `per_day` appeals in the last 24 hours."""
    recent = list(
        await session.scalars(
            select(Appeal.created_at)
            .where(Appeal.user_id == user_id, Appeal.created_at > now - DAY)
            .order_by(Appeal.created_at.desc())
            .limit(per_day)
        )
    )
    if len(recent) >= per_day:
        raise TooManyAppeals(recent[-1] + DAY)


def number_of(appeal: Appeal) -> str:
    prefix = "С" if appeal.kind == AppealKind.INSURED_EVENT else "О"  # случай / обращение
    return f"{prefix}-{appeal.created_at.astimezone(MOSCOW):%y}-{appeal.id:06d}"


async def file_appeal(
    session: AsyncSession,
    user_id: int,
    kind: AppealKind,
    *,
    text: str,
    fields: dict[str, Any] | None = None,
    files: list[dict[str, str]] | None = None,
    policy_id: int | None = None,
    bill_id: int | None = None,
    clinic_id: int | None = None,
    now: datetime,
    per_day: int | None = None,
    event_date: date | None = None,
) -> Appeal:
    """File an appeal; with `per_day`, refuse past that many in 24 hours (TooManyAppeals). A
    case needs a paid policy valid on its event date (CaseNotCovered)."""
    if per_day is not None:
        await check_daily_limit(session, user_id, now, per_day)
    if kind is AppealKind.INSURED_EVENT and policy_id is not None and event_date is not None:
        policy = await session.get(Policy, policy_id)
        if policy is not None:
            check_cover(policy, event_date)
    appeal = Appeal(
        user_id=user_id,
        kind=kind,
        status=AppealStatus.RECEIVED,
        policy_id=policy_id,
        bill_id=bill_id,
        clinic_id=clinic_id,
        fields=fields or {},
        created_at=now,
        waiting_since=now,
    )
    session.add(appeal)
    await session.flush()
    appeal.number = number_of(appeal)
    session.add(
        AppealMessage(
            appeal_id=appeal.id,
            author=Author.PERSON,
            text=text,
            files=files or [],
            created_at=now,
        )
    )
    await session.commit()
    if kind == AppealKind.NOT_PROVIDED and bill_id is not None:
        await dispute_share(session, bill_id, now)  # not charged while the appeal is open
    return appeal


async def open_dispute_of(session: AsyncSession, bill_id: int) -> Appeal | None:
    """The open "service not provided" appeal about this bill, if there is one: its outcome
    decides the share, so a second one must not be filed (a walker's second appeal, closed
    after the first, released the share to be charged)."""
    found: Appeal | None = await session.scalar(
        select(Appeal)
        .where(
            Appeal.bill_id == bill_id,
            Appeal.kind == AppealKind.NOT_PROVIDED,
            Appeal.status != AppealStatus.CLOSED,
        )
        .order_by(Appeal.id)
        .limit(1)
    )
    return found


async def my_appeals(session: AsyncSession, user_id: int, *, cases: bool = False) -> list[Appeal]:
    """The person's appeals (or insured-event cases), newest first."""
    kind = Appeal.kind == AppealKind.INSURED_EVENT
    rows = await session.scalars(
        select(Appeal)
        .where(Appeal.user_id == user_id, kind if cases else ~kind)
        .order_by(Appeal.created_at.desc(), Appeal.id.desc())
    )
    return list(rows)


async def my_appeal(session: AsyncSession, user_id: int, appeal_id: int) -> Appeal:
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.user_id != user_id:
        raise NotFoundError("appeal")
    return appeal


async def history(session: AsyncSession, appeal_id: int) -> list[AppealMessage]:
    rows = await session.scalars(
        select(AppealMessage)
        .where(AppealMessage.appeal_id == appeal_id)
        .order_by(AppealMessage.created_at, AppealMessage.id)
    )
    return list(rows)


async def add_person_message(
    session: AsyncSession,
    user_id: int,
    appeal_id: int,
    text: str,
    now: datetime,
    files: list[dict[str, str]] | None = None,
) -> Appeal:
    appeal = await my_appeal(session, user_id, appeal_id)
    if appeal.status == AppealStatus.CLOSED:
        raise AppealClosed(appeal.number or "")
    session.add(
        AppealMessage(
            appeal_id=appeal.id, author=Author.PERSON, text=text, files=files or [], created_at=now
        )
    )
    if appeal.status == AppealStatus.ANSWERED:
        appeal.status = AppealStatus.IN_PROGRESS  # the person has more to say: it is open again
    start_waiting(appeal, now)
    await session.commit()
    return appeal


async def close_by_person(
    session: AsyncSession, user_id: int, appeal_id: int, rating: int | None, now: datetime
) -> Appeal:
    """The person closes the appeal (or rates one the desk closed): the rating is theirs."""
    appeal = await my_appeal(session, user_id, appeal_id)
    withdrawn = appeal.status != AppealStatus.CLOSED
    if not withdrawn and appeal.rating is not None:
        raise AlreadyRated(appeal.number or "")
    if withdrawn:
        appeal.status, appeal.closed_at, appeal.waiting_since = AppealStatus.CLOSED, now, None
        await withdraw(session, f"appeal-taken:{appeal.id}")
    if rating is not None:
        appeal.rating = max(1, min(5, rating))
    await session.commit()
    if withdrawn and appeal.kind == AppealKind.NOT_PROVIDED and appeal.bill_id is not None:
        # The person closed their own dispute: the share is charged again (with a message).
        await close_share_dispute(
            session, appeal.bill_id, confirmed=False, payer_id=user_id, now=now, withdrawn=True
        )
    return appeal


def start_waiting(appeal: Appeal, now: datetime) -> None:
    """The person's turn is over: the appeal waits for the desk from now, unless it is waiting
    already (an earlier unanswered message keeps its place); a new wait can be flagged anew."""
    if appeal.waiting_since is None:
        appeal.waiting_since, appeal.flagged_at = now, None


def can_reopen(appeal: Appeal, now: datetime, within: timedelta) -> bool:
    return (
        appeal.status == AppealStatus.CLOSED
        and appeal.closed_at is not None
        and now - appeal.closed_at <= within
    )


async def reopen(
    session: AsyncSession,
    user_id: int,
    appeal_id: int,
    text: str,
    now: datetime,
    within: timedelta,
    files: list[dict[str, str]] | None = None,
) -> Appeal:
    """The person reopens a closed appeal with a follow-up, within `within` of its closing;
    the desk sees it in work again and the earlier rating no longer stands."""
    appeal = await my_appeal(session, user_id, appeal_id)
    if not can_reopen(appeal, now, within):
        raise ReopenExpired(appeal.number or "")
    appeal.status, appeal.closed_at, appeal.rating = AppealStatus.IN_PROGRESS, None, None
    appeal.outcome = None  # the desk decides again
    start_waiting(appeal, now)
    if appeal.kind == AppealKind.INSURED_EVENT:
        appeal.stage = CaseStage.REVIEW  # a reopened case is looked at again
    session.add(
        AppealMessage(
            appeal_id=appeal.id, author=Author.PERSON, text=text, files=files or [], created_at=now
        )
    )
    await session.commit()
    if appeal.kind == AppealKind.NOT_PROVIDED and appeal.bill_id is not None:
        # A rejected dispute released the share; reopened, it is held again until the new
        # decision (a walker's share was charged after the desk confirmed it on the second go).
        await dispute_share(session, appeal.bill_id, now)
    return appeal


# --- the desk ------------------------------------------------------------------------------------
async def appeal_by_thread(session: AsyncSession, thread_id: int) -> Appeal | None:
    return await session.scalar(select(Appeal).where(Appeal.operators_thread_id == thread_id))


# Appeal numbers are identifiers: stored and shown with the Cyrillic letter (О-26-000001 an
# appeal, С-26-000001 a case) in every language; typed with Latin look-alikes, they are found.
LOOKALIKES = str.maketrans({"O": "О", "C": "С", "–": "-", "—": "-", "‐": "-"})


def normalize_number(number: str) -> str:
    """ "c-26-000001", "C–26–000001", "о-26-000001" -> "С-26-000001" / "О-26-000001"."""
    cleaned = "".join(number.split()).upper().translate(LOOKALIKES)
    prefix, dash, rest = cleaned.partition("-")
    return prefix + dash + rest.replace("О", "0")  # the digits: a Cyrillic О typed for a zero


async def appeal_by_number(session: AsyncSession, number: str) -> Appeal | None:
    """The appeal with this number, typed in Cyrillic or in Latin letters, any case."""
    return await session.scalar(select(Appeal).where(Appeal.number == normalize_number(number)))


async def take(
    session: AsyncSession,
    appeal: Appeal,
    operator_id: int,
    now: datetime,
    operator_name: str | None = None,
) -> bool:
    """Mark it taken and tell the person (naming the operator); False if someone already has
    it or it is closed."""
    done = await session.execute(
        update(Appeal)
        .where(Appeal.id == appeal.id, Appeal.status == AppealStatus.RECEIVED)
        .values(status=AppealStatus.IN_PROGRESS, operator_id=operator_id)
    )
    if done.rowcount:  # type: ignore[attr-defined]
        await enqueue(
            session,
            user_id=appeal.user_id,
            kind="appeal_taken",
            dedupe_key=f"appeal-taken:{appeal.id}",
            now=now,
            appeal_id=appeal.id,
            number=appeal.number,
            operator=shown_operator(operator_name),
        )
    await session.commit()
    await session.refresh(appeal)
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def answer(
    session: AsyncSession,
    appeal: Appeal,
    operator_id: int,
    operator_name: str,
    text: str,
    now: datetime,
    files: list[dict[str, str]] | None = None,
) -> AppealMessage:
    """An operator's answer: stored, the appeal marked answered, the person told (outbox)."""
    if appeal.status == AppealStatus.CLOSED:
        raise AppealClosed(appeal.number or "")
    message = AppealMessage(
        appeal_id=appeal.id,
        author=Author.OPERATOR,
        operator_name=operator_name,
        text=text,
        files=files or [],
        created_at=now,
    )
    session.add(message)
    await session.flush()
    appeal.status = AppealStatus.ANSWERED
    # "Taken into work" held back by quiet hours is stale once the answer is there.
    await withdraw(session, f"appeal-taken:{appeal.id}")
    appeal.operator_id = appeal.operator_id or operator_id
    appeal.first_answer_at = appeal.first_answer_at or now
    appeal.waiting_since = None
    await enqueue(
        session,
        user_id=appeal.user_id,
        kind="appeal_answer",
        dedupe_key=f"appeal-answer:{message.id}",
        now=now,
        appeal_id=appeal.id,
        number=appeal.number,
        text=text,
        files=files or [],
        operator=shown_operator(operator_name),
    )
    await session.commit()
    return message


class OutcomeRequired(DomainError):
    """A disputing appeal (a service not provided) is closed as confirmed or rejected."""


async def close_by_operator(
    session: AsyncSession,
    appeal: Appeal,
    now: datetime,
    reopen_within: timedelta | None = None,
    outcome: AppealOutcome | None = None,
) -> bool:
    """The desk closes it; the person is told, asked to rate the answer and told until when
    they can reopen it. A dispute (DISPUTES) needs its outcome, kept for billing to act on."""
    if appeal.status == AppealStatus.CLOSED:
        return False
    if appeal.kind in DISPUTES and outcome is None:
        raise OutcomeRequired(appeal.number or "")
    appeal.outcome = outcome.value if outcome is not None else None
    appeal.status, appeal.closed_at, appeal.waiting_since = AppealStatus.CLOSED, now, None
    await withdraw(session, f"appeal-taken:{appeal.id}")
    answered = appeal.first_answer_at is not None
    await enqueue(
        session,
        user_id=appeal.user_id,
        kind="appeal_closed",
        # Each closing is told: an appeal reopened and closed again is a new one.
        dedupe_key=f"appeal-closed:{appeal.id}:{now.isoformat()}",
        now=now,
        appeal_id=appeal.id,
        number=appeal.number,
        rate=appeal.rating is None and answered,  # closed unanswered: nothing to rate
        answered=answered,
        outcome=appeal.outcome,
        reopen_until=(now + reopen_within).isoformat() if reopen_within else None,
    )
    await session.commit()
    if outcome is not None and appeal.bill_id is not None:
        # The disputed share: cancelled when the person is right, else charged again (told).
        await close_share_dispute(
            session,
            appeal.bill_id,
            confirmed=outcome == AppealOutcome.CONFIRMED,
            payer_id=appeal.user_id,
            now=now,
        )
    return True


def shown_state_column() -> Any:
    """What a topic should show, in SQL: an appeal's status; a case's stage past "received"
    (the bot's `shown_state`)."""
    return case(
        (
            (Appeal.kind == AppealKind.INSURED_EVENT)
            & Appeal.stage.is_not(None)
            & (Appeal.stage != "received"),
            Appeal.stage,
        ),
        else_=Appeal.status,
    )


async def topics_behind(session: AsyncSession, limit: int = 50) -> list[Appeal]:
    """Appeals whose desk topic does not show their state yet: changed outside the desk (an
    integrator's import of a case's stage), or a topic update that failed."""
    rows = await session.scalars(
        select(Appeal)
        .where(
            Appeal.operators_thread_id.is_not(None),
            Appeal.topic_state.is_distinct_from(shown_state_column()),
        )
        .order_by(Appeal.id)
        .limit(limit)
    )
    return list(rows)


async def open_appeals(session: AsyncSession, limit: int = 30) -> list[Appeal]:
    """Open appeals: those waiting for the desk first, the longest wait first; then those
    answered and waiting for the person, the oldest first. The desk's queue."""
    rows = await session.scalars(
        select(Appeal)
        .where(Appeal.status.in_(OPEN_STATUSES))
        .order_by(
            Appeal.waiting_since.is_(None), Appeal.waiting_since, Appeal.created_at, Appeal.id
        )
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class DeskStats:
    open: int
    unanswered: int
    answered_today: int
    median_first_answer: timedelta | None
    closed_today: int = 0
    rated: int = 0
    average_rating: float | None = None


async def desk_stats(session: AsyncSession, now: datetime) -> DeskStats:
    open_count = await session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.status.in_(OPEN_STATUSES))
    )
    unanswered = await session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.status.in_(OPEN_STATUSES), Appeal.waiting_since.is_not(None))
    )
    local = now.astimezone(MOSCOW)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    today = await session.scalar(
        select(func.count(func.distinct(AppealMessage.appeal_id))).where(
            AppealMessage.author == Author.OPERATOR, AppealMessage.created_at >= midnight
        )
    )
    pairs = (
        await session.execute(
            select(Appeal.created_at, Appeal.first_answer_at).where(
                Appeal.first_answer_at.is_not(None)
            )
        )
    ).all()
    waits = sorted(answered - created for created, answered in pairs if answered is not None)
    closed_today = await session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.closed_at >= midnight)
    )
    rated, average = (
        await session.execute(
            select(func.count(Appeal.rating), func.avg(Appeal.rating)).where(
                Appeal.rating.is_not(None)
            )
        )
    ).one()
    return DeskStats(
        open=int(open_count or 0),
        unanswered=int(unanswered or 0),
        answered_today=int(today or 0),
        median_first_answer=median(waits),
        closed_today=int(closed_today or 0),
        rated=int(rated or 0),
        average_rating=float(average) if average is not None else None,
    )


def median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


async def overdue(session: AsyncSession, now: datetime, limit: timedelta) -> list[Appeal]:
    """Waiting for the desk past the limit (since it was filed, or since the person's follow-up
    or reopening that no operator has answered) and not flagged yet; flags them (each wait is
    flagged once)."""
    rows = (
        await session.scalars(
            select(Appeal).where(
                Appeal.status.in_(OPEN_STATUSES),
                Appeal.flagged_at.is_(None),
                Appeal.waiting_since <= now - limit,
            )
        )
    ).all()
    flagged = []
    for appeal in rows:
        done = await session.execute(
            update(Appeal)
            .where(Appeal.id == appeal.id, Appeal.flagged_at.is_(None))
            .values(flagged_at=now)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            flagged.append(appeal)
    await session.commit()
    return flagged
