"""Getting a policy's document: composed, fingerprinted, rendered only when it changed."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing.regions import regions_of
from core.clinics.directory import program_clinics
from core.config import InsurerBranding
from core.documents.compose import (
    DocumentKind,
    documents_of,
    memo_layout,
    policy_layout,
    program_layout,
    travel_layout,
)
from core.documents.layout import Layout
from core.documents.models import DocumentCopy
from core.errors import DomainError, NotFoundError
from core.policies.cabinet import PolicyView
from core.policies.care import Translate


class LatinNameRequired(DomainError):
    """The travel policy prints the name as in the foreign passport; ask for it first."""


async def document_layout(
    session: AsyncSession,
    view: PolicyView,
    kind: DocumentKind,
    insurer: InsurerBranding,
    translate: Translate,
    locale: str,
    now: datetime | None = None,
) -> Layout:
    if kind is DocumentKind.TRAVEL:
        if not view.link.latin_name:
            raise LatinNameRequired("latin name")
        return travel_layout(view, insurer, view.link.latin_name, translate, locale)
    if kind is DocumentKind.MEMO:
        assert view.program is not None
        clinics = await program_clinics(session, view.program.id)
        return memo_layout(view, clinics, insurer, translate, locale)
    if kind is DocumentKind.PROGRAM:
        return program_layout(view, insurer, translate, locale)
    regions: list[str] = []
    if now is not None:  # the regions chosen so far (a regional policy): the PDF names them
        chosen = await regions_of(session, view, now=now)
        regions = sorted(chosen.chosen)
    return policy_layout(view, insurer, translate, locale, regions=regions)


async def policy_document(
    session: AsyncSession,
    view: PolicyView,
    kind: DocumentKind,
    *,
    insurer: InsurerBranding,
    translate: Translate,
    locale: str,
    now: datetime,
) -> DocumentCopy:
    if kind not in documents_of(view):
        raise NotFoundError("document")
    layout = await document_layout(session, view, kind, insurer, translate, locale, now)
    fingerprint = layout.fingerprint()
    copy = await session.scalar(
        select(DocumentCopy).where(
            DocumentCopy.insured_person_id == view.person.id,
            DocumentCopy.kind == kind,
            DocumentCopy.locale == locale,
        )
    )
    if copy is not None and copy.fingerprint == fingerprint:
        return copy
    if copy is None:
        copy = DocumentCopy(insured_person_id=view.person.id, kind=kind, locale=locale)
        session.add(copy)
    copy.fingerprint = fingerprint
    copy.filename = layout.filename
    copy.content = await asyncio.to_thread(render_pdf, layout, now)  # ~0.5 s: not on the loop
    copy.telegram_file_id = None
    copy.created_at = now
    await session.flush()
    return copy


def render_pdf(layout: Layout, created: datetime) -> bytes:
    """The layout as PDF; fpdf2 and the fonts load here, when the first document is drawn."""
    from core.documents.pdf import render

    return render(layout, created)


async def set_latin_name(session: AsyncSession, view: PolicyView, latin_name: str) -> None:
    view.link.latin_name = latin_name
    await session.flush()
