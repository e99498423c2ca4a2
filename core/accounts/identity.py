"""Identity check "selfie with passport" (seed 003): three images, reviewed by an operator
within a day; the files are kept encrypted and erased a retention period after the decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.accounts.crypto import Vault
from core.accounts.models import User
from core.appeals.backoffice import attach_insurer_cases
from core.appeals.models import Appeal
from core.db import Base, EncryptedBytes, UtcDateTime
from core.errors import DomainError, NotFoundError
from core.notifications.outbox import enqueue
from core.policies.care import N_
from core.policies.models import InsuredPerson, Policy, PolicyLink
from core.uploads import MAX_UPLOAD_BYTES, UploadRefused, accept_upload

MAX_FILE_BYTES = MAX_UPLOAD_BYTES
FileRefused = UploadRefused


class FileKind(StrEnum):
    PASSPORT = "passport"  # the main page
    SELFIE = "selfie"  # a selfie holding the passport
    REGISTRATION = "registration"  # the last page, with the registration address


class CheckStatus(StrEnum):
    COLLECTING = "collecting"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    UNREADABLE = "unreadable"
    MISMATCH = "mismatch"
    NO_FACE = "no_face"
    INCOMPLETE = "incomplete"


REJECT_TITLES = {
    RejectReason.UNREADABLE: N_("the photos are hard to read"),
    RejectReason.MISMATCH: N_("the data do not match the documents"),
    RejectReason.NO_FACE: N_("the face is not visible on the selfie"),
    RejectReason.INCOMPLETE: N_("not all pages were sent"),
}


class IdentityCheck(Base):
    __tablename__ = "identity_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CheckStatus.COLLECTING.value)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[int | None] = mapped_column()  # the operator's Telegram id
    reason: Mapped[str | None] = mapped_column(String(32))
    purge_after: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    operators_thread_id: Mapped[int | None] = mapped_column()
    # What the check is for (seed 003: "to link a previously issued contract to your account"):
    # the insured person of the policy the person tried to link and what did not match, or the
    # appeal whose operator asked for it.
    insured_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("insured_persons.id", ondelete="SET NULL")
    )
    mismatch: Mapped[str | None] = mapped_column(String(64))  # "surname,birth_date" | "elsewhere"
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"))


class IdentityFile(Base):
    __tablename__ = "identity_files"
    __table_args__ = (UniqueConstraint("check_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("identity_checks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    content: Mapped[bytes] = mapped_column(EncryptedBytes)  # Vault.encrypt_bytes
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UnderReview(DomainError):
    """A submitted check is waiting for its answer; no second one meanwhile."""


class Incomplete(DomainError):
    def __init__(self, missing: list[FileKind]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class AlreadyDecided(DomainError):
    pass


async def open_check(session: AsyncSession, user: User, *, now: datetime) -> IdentityCheck:
    """The check being collected, or a new one; refused while one is under review."""
    latest = await session.scalar(
        select(IdentityCheck)
        .where(IdentityCheck.user_id == user.id)
        .order_by(IdentityCheck.id.desc())
        .limit(1)
    )
    if latest is not None and latest.status == CheckStatus.SUBMITTED:
        raise UnderReview("a check is under review")
    if latest is not None and latest.status == CheckStatus.COLLECTING:
        return latest
    check = IdentityCheck(user_id=user.id, created_at=now, status=CheckStatus.COLLECTING.value)
    session.add(check)
    await session.commit()
    return check


async def set_purpose(
    session: AsyncSession,
    user: User,
    *,
    now: datetime,
    insured_person_id: int | None = None,
    mismatch: str | None = None,
    appeal_id: int | None = None,
) -> IdentityCheck | None:
    """Remember what the next check is for: a policy that did not match (or is in another
    cabinet), or an appeal that asked for it. None while a check is under review."""
    try:
        check = await open_check(session, user, now=now)
    except UnderReview:
        return None
    if insured_person_id is not None:
        check.insured_person_id, check.mismatch = insured_person_id, mismatch
    if appeal_id is not None:
        check.appeal_id = appeal_id
    await session.commit()
    return check


async def identity_confirmed(session: AsyncSession, user_id: int) -> bool:
    found = await session.scalar(
        select(IdentityCheck.id).where(
            IdentityCheck.user_id == user_id,
            IdentityCheck.status == CheckStatus.APPROVED.value,
        )
    )
    return found is not None


async def purpose_pending(session: AsyncSession, user_id: int) -> bool:
    """A check being collected for a policy or an appeal: worth doing even once confirmed."""
    found = await session.scalar(
        select(IdentityCheck.id).where(
            IdentityCheck.user_id == user_id,
            IdentityCheck.status == CheckStatus.COLLECTING.value,
            (IdentityCheck.insured_person_id.is_not(None)) | (IdentityCheck.appeal_id.is_not(None)),
        )
    )
    return found is not None


async def uploaded_kinds(session: AsyncSession, check: IdentityCheck) -> set[FileKind]:
    kinds = await session.scalars(
        select(IdentityFile.kind).where(IdentityFile.check_id == check.id)
    )
    return {FileKind(k) for k in kinds}


async def attach_file(
    session: AsyncSession,
    vault: Vault,
    check: IdentityCheck,
    kind: FileKind,
    *,
    content: bytes,
    now: datetime,
) -> None:
    """Store (or replace) one of the three images, encrypted, under a generated name.

    The bytes decide (JPEG, PNG, HEIC or PDF; core.uploads), never the declared name or type.
    """
    if check.status != CheckStatus.COLLECTING:
        raise UnderReview("the check was submitted")
    upload = accept_upload(content, prefix=kind.value)
    row = await session.scalar(
        select(IdentityFile).where(
            IdentityFile.check_id == check.id, IdentityFile.kind == kind.value
        )
    )
    if row is None:
        row = IdentityFile(check_id=check.id, kind=kind.value)
        session.add(row)
    row.filename, row.mime_type, row.size = upload.filename, upload.mime_type, len(content)
    row.content = vault.encrypt_bytes(content)
    row.uploaded_at = now
    await session.commit()


async def submit(session: AsyncSession, check: IdentityCheck, *, now: datetime) -> None:
    missing = [kind for kind in FileKind if kind not in await uploaded_kinds(session, check)]
    if missing:
        raise Incomplete(missing)
    check.status = CheckStatus.SUBMITTED.value
    check.submitted_at = now
    await session.commit()


@dataclass(frozen=True, slots=True)
class PlainFile:
    kind: FileKind
    filename: str
    mime_type: str
    content: bytes


async def files_for_review(session: AsyncSession, vault: Vault, check_id: int) -> list[PlainFile]:
    """The decrypted images, for the operators' chat only."""
    rows = await session.scalars(
        select(IdentityFile).where(IdentityFile.check_id == check_id).order_by(IdentityFile.id)
    )
    return [
        PlainFile(FileKind(r.kind), r.filename, r.mime_type, vault.decrypt_bytes(r.content))
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Decision:
    check: IdentityCheck
    user: User
    linked: Policy | None = None  # the policy approval linked to the cabinet


async def _link_on_approval(
    session: AsyncSession, check: IdentityCheck, user: User, now: datetime
) -> Policy | None:
    """Approval does what the check was for: the policy is linked to this cabinet (taken from
    another cabinet if it was there: the operator has confirmed whose it is)."""
    if check.insured_person_id is None:
        return None
    person = await session.get(InsuredPerson, check.insured_person_id)
    if person is None:
        return None
    link = await session.scalar(select(PolicyLink).where(PolicyLink.insured_person_id == person.id))
    if link is None:
        session.add(
            PolicyLink(user_id=user.id, insured_person_id=person.id, as_child=False, linked_at=now)
        )
    elif link.user_id != user.id:
        policy = await session.get(Policy, person.policy_id)
        await enqueue(  # the cabinet that had it is told, not left to wonder
            session,
            user_id=link.user_id,
            kind="policy_moved",
            dedupe_key=f"policy-moved:{check.id}",
            now=now,
            number=policy.number if policy is not None else "",
        )
        link.user_id, link.linked_at = user.id, now
    await attach_insurer_cases(session, user.id, [person.policy_id], now=now)  # its cases too
    return await session.get(Policy, person.policy_id)


async def decide(
    session: AsyncSession,
    check_id: int,
    *,
    approve: bool,
    reason: RejectReason | None,
    operator_id: int,
    now: datetime,
    retention: timedelta,
) -> Decision:
    """Approve or reject once; the files are erased `retention` after the decision."""
    check = await session.get(IdentityCheck, check_id, with_for_update=True)
    if check is None:
        raise NotFoundError("identity check")
    if check.status != CheckStatus.SUBMITTED:
        raise AlreadyDecided(check.status)
    check.status = (CheckStatus.APPROVED if approve else CheckStatus.REJECTED).value
    check.reason = None if approve or reason is None else reason.value
    check.decided_at, check.decided_by = now, operator_id
    check.purge_after = now + retention
    user = await session.get(User, check.user_id)
    assert user is not None
    linked = await _link_on_approval(session, check, user, now) if approve else None
    appeal = await session.get(Appeal, check.appeal_id) if check.appeal_id else None
    await enqueue(  # the person is told through the outbox, in the same transaction
        session,
        user_id=user.id,
        kind="identity_decided",
        dedupe_key=f"identity:{check.id}",
        now=now,
        approved=approve,
        reason=check.reason,
        policy=linked.number if linked is not None else None,
        appeal=appeal.number if appeal is not None else None,
    )
    await session.commit()
    return Decision(check=check, user=user, linked=linked)


async def purge_expired_files(session: AsyncSession, *, now: datetime) -> int:
    """Erase the images of checks decided longer ago than the retention period."""
    due = (
        await session.scalars(
            select(IdentityCheck.id).where(
                IdentityCheck.purge_after.is_not(None), IdentityCheck.purge_after <= now
            )
        )
    ).all()
    if not due:
        return 0
    files = (
        await session.scalars(select(IdentityFile).where(IdentityFile.check_id.in_(due)))
    ).all()
    for row in files:
        await session.delete(row)
    for check_id in due:
        check = await session.get(IdentityCheck, check_id)
        if check is not None:
            check.purge_after = None
    await session.commit()
    return len(files)
