"""Rendered services of a policy and the co-payment of each (seed 001: the services table)."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import PolicyAction, PolicyCallback, ServicesCallback
from core.accounts.models import User
from core.billing.models import ChargeStatus
from core.billing.statement import ServiceLine, Statement, statement
from core.clock import Clock
from core.formatting import format_date, format_day, format_money
from core.policies.cabinet import PolicyView, my_policy

PAGE = 8


def share_status(line: ServiceLine, locale: str) -> str:
    if line.status == ChargeStatus.PAID and line.paid_at is not None:
        return _("paid {date}").format(date=format_day(line.paid_at, locale))
    if line.status == ChargeStatus.DEBT:
        return _("⚠️ unpaid")
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


def services_keyboard(view: PolicyView, found: Statement, page: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    row = 0
    if page > 0:
        builder.button(text="◀️", callback_data=ServicesCallback(id=view.id, page=page - 1))
        row += 1
    if (page + 1) * PAGE < found.count:
        builder.button(text="▶️", callback_data=ServicesCallback(id=view.id, page=page + 1))
        row += 1
    builder.button(text=_("⬅️ Policy"), callback_data=PolicyCallback(id=view.id))
    builder.adjust(*([row] if row else []), 1)
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
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    page = max(getattr(callback_data, "page", 0), 0)
    found = await statement(session, view.person.id, offset=page * PAGE, limit=PAGE)
    text = services_text(view, found, page, user.language)
    markup = services_keyboard(view, found, page)
    if isinstance(callback_data, ServicesCallback):
        await query.message.edit_text(text, reply_markup=markup)
    else:
        await query.message.answer(text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(
        show_services, PolicyCallback.filter(F.action == PolicyAction.SERVICES)
    )
    router.callback_query.register(show_services, ServicesCallback.filter())
    return router
