"""Rendered services of a policy and the co-payment of each (seed 001: the services table)."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    AppealStartCallback,
    BillCallback,
    PolicyAction,
    PolicyCallback,
    ServicesCallback,
)
from bot.screens import show
from core.accounts.crypto import Vault
from core.accounts.models import User
from core.appeals.models import AppealKind
from core.billing.models import Bill, ChargeStatus
from core.billing.statement import ServiceLine, Statement, service_line, statement
from core.clock import Clock
from core.errors import NotFoundError
from core.formatting import format_date, format_day, format_money
from core.policies.cabinet import PolicyView, my_policy

PAGE = 8


def share_status(line: ServiceLine, locale: str) -> str:
    if line.status == ChargeStatus.PAID and line.paid_at is not None:
        return _("paid {date}").format(date=format_day(line.paid_at, locale))
    if line.status == ChargeStatus.DEBT:
        return _("⚠️ unpaid")
    if line.status == ChargeStatus.DISPUTED:  # before the date: it is not charged meanwhile
        return _("on hold while your «not provided» appeal is open")
    if line.status == ChargeStatus.CANCELLED:
        return _("cancelled: the service was not provided")
    if line.charge_after is not None:
        return _("to be charged about {date}").format(date=format_day(line.charge_after, locale))
    return ""


def line_text(line: ServiceLine, locale: str) -> str:
    head = f"<b>{format_date(line.service_date, locale)}</b> · {escape(line.clinic)}"
    service = escape(line.service) + (f" × {line.quantity}" if line.quantity > 1 else "")
    cost = _("cost {amount}").format(amount=format_money(line.amount, locale))
    if line.share:
        cost += " · " + _("your share {amount}, {status}").format(
            amount=format_money(line.share, locale), status=share_status(line, locale)
        )
    else:
        cost += " · " + _("paid by the insurer")
    return f"{head}\n{service}\n{cost}"


def services_text(view: PolicyView, found: Statement, page: int, locale: str) -> str:
    title = _("<b>Services · policy {number}</b>").format(number=view.policy.number)
    if not found.count:
        return title + "\n" + _("No services have been billed under this policy yet.")

    def money(amount: int) -> str:
        return format_money(amount, locale)

    summary = [
        _("Services: {count}, their cost {total}.").format(
            count=found.count, total=money(found.total)
        )
    ]
    if found.paid or found.upcoming or found.owed:
        summary.append(
            _("Your co-payments: paid {paid}, to be charged {upcoming}, debt {owed}.").format(
                paid=money(found.paid), upcoming=money(found.upcoming), owed=money(found.owed)
            )
        )
    pages = (found.count + PAGE - 1) // PAGE
    if pages > 1:
        summary.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    body = "\n\n".join(line_text(line, locale) for line in found.lines)
    return "\n".join([title, *summary]) + "\n\n" + body


PERIODS = ((0, __("All")), (3, __("3 months")), (12, __("A year")))


def services_keyboard(
    view: PolicyView, found: Statement, page: int, months: int, locale: str
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for line in found.lines:
        builder.button(
            text=f"🔎 {format_date(line.service_date, locale)} · {line.service[:40]}",
            callback_data=BillCallback(id=line.bill_id, policy=view.id),
        )
    sizes = [1] * len(found.lines)
    turn = ServicesCallback(id=view.id, page=page, months=months)
    nav = 0
    if page > 0:
        builder.button(text="◀️", callback_data=turn.model_copy(update={"page": page - 1}))
        nav += 1
    if (page + 1) * PAGE < found.count:
        builder.button(text="▶️", callback_data=turn.model_copy(update={"page": page + 1}))
        nav += 1
    if nav:
        sizes.append(nav)
    for value, title in PERIODS:
        mark = "• " if value == months else ""
        builder.button(
            text=f"{mark}{title}",
            callback_data=ServicesCallback(id=view.id, page=0, months=value),
        )
    sizes.append(len(PERIODS))
    builder.button(text=_("⬅️ Policy"), callback_data=PolicyCallback(id=view.id))
    builder.adjust(*sizes, 1)
    return builder.as_markup()


async def show_services(
    query: CallbackQuery,
    callback_data: PolicyCallback | ServicesCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    if not isinstance(query.message, Message):
        return
    today = clock.now().date()
    view = await my_policy(session, user, callback_data.id, today=today)
    page = max(getattr(callback_data, "page", 0), 0)
    months = getattr(callback_data, "months", 0)
    since = today - timedelta(days=round(months * 30.44)) if months else None
    found = await statement(session, view.person.id, offset=page * PAGE, limit=PAGE, since=since)
    text = services_text(view, found, page, user.language)
    text += "\n\n" + _("Services appear as clinics send their bills: from 10 days after the visit.")
    await show(query, text, services_keyboard(view, found, page, months, user.language))


async def show_bill(
    query: CallbackQuery,
    callback_data: BillCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
    vault: Vault,
) -> None:
    if not isinstance(query.message, Message):
        return
    view = await my_policy(session, user, callback_data.policy, today=clock.now().date())
    bill = await session.get(Bill, callback_data.id)
    if bill is None or bill.insured_person_id != view.person.id:
        raise NotFoundError("bill")
    line = await service_line(session, bill)
    text = line_text(line, user.language)
    builder = InlineKeyboardBuilder()
    if callback_data.diagnosis:
        diagnosis = vault.decrypt(bill.diagnosis) if bill.diagnosis else "—"
        code = f"{vault.decrypt(bill.diagnosis_code)} " if bill.diagnosis_code else ""
        text += "\n" + _("Diagnosis: {diagnosis}").format(diagnosis=escape(code + diagnosis))
    elif bill.diagnosis or bill.diagnosis_code:
        builder.button(
            text=_("🔒 Show the diagnosis"),
            callback_data=callback_data.model_copy(update={"diagnosis": True}),
        )
    builder.button(
        text=_("✍️ Leave feedback"),
        callback_data=AppealStartCallback(kind=AppealKind.FEEDBACK, bill=bill.id),
    )
    if line.status not in (ChargeStatus.DISPUTED, ChargeStatus.CANCELLED):  # filed already
        builder.button(
            text=_("🚫 Service was not provided"),
            callback_data=AppealStartCallback(kind=AppealKind.NOT_PROVIDED, bill=bill.id),
        )
    builder.button(text=_("⬅️ Services"), callback_data=ServicesCallback(id=view.id))
    builder.adjust(1)
    await show(query, text, builder.as_markup())


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(
        show_services, PolicyCallback.filter(F.action == PolicyAction.SERVICES)
    )
    router.callback_query.register(show_services, ServicesCallback.filter())
    router.callback_query.register(show_bill, BillCallback.filter())
    return router
