"""Service regions (seed 002): the policy's regions, and a searchable, paged multi-select of
Russia's federal subjects with "Confirm". Confirmed regions are never removed."""

from __future__ import annotations

from datetime import datetime
from html import escape

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    FranchiseAction,
    FranchiseCallback,
    PolicyAction,
    PolicyCallback,
    RegionAction,
    RegionCallback,
)
from bot.fsm.regions import REGIONS_KEY, RegionDraft, Regions
from bot.keyboards.registration import BACK
from bot.screens import show, with_nav
from core.accounts.models import User
from core.billing.regions import (
    CHOOSABLE,
    Refusal,
    RegionNotCovered,
    RegionsNotAllowed,
    RegionsView,
    choosable,
    confirm_regions,
    next_day,
    regions_of,
    without_clinics,
)
from core.clock import Clock
from core.formatting import format_day, format_moment
from core.policies.cabinet import PolicyView, my_policy
from core.policies.models import Territory
from core.subjects import Subject, names, search

PAGE = 8
QUERY_LIMIT = 40


def refusal_text(refusal: Refusal, opens: datetime | None = None, locale: str = "ru") -> str:
    if refusal is Refusal.FRANCHISE_PENDING and opens is not None:
        return _("Regions can be chosen once the franchise program is active: from {date}.").format(
            date=format_moment(opens, locale)
        )
    return {
        Refusal.FIXED: _("The regions of this policy are fixed and need no choice."),
        Refusal.NO_TERRITORY: _("This policy has no service regions."),
        Refusal.FRANCHISE_FIRST: _(
            "Regions can be chosen after the franchise program is activated."
        ),
        Refusal.EXPIRED: _("The policy has expired: regions cannot be added."),
        Refusal.FRANCHISE_PENDING: _("Regions can be chosen once the franchise program is active."),
    }[refusal]


def regions_line(regions: RegionsView, now: datetime, locale: str) -> str:
    """The card's and the list's line about regions, one sentence; empty where a policy has
    none. Before the franchise is active nothing can be chosen, so the line says so (seed 002)."""
    if regions.to_choose:
        if regions.refusal is Refusal.FRANCHISE_FIRST:
            return "🗺 " + _("Service regions: chosen after the franchise program is activated")
        if regions.refusal is Refusal.FRANCHISE_PENDING and regions.opens is not None:
            return "🗺 " + _("Service regions: can be chosen from {date}").format(
                date=format_moment(regions.opens, locale)
            )
        if regions.refusal is None:
            return "🗺 " + _("Service regions: not chosen")
        return ""
    open_now = regions.available(now)
    later: dict[datetime, list[str]] = {}
    for code, since in regions.chosen.items():
        if since > now:
            later.setdefault(since, []).append(code)
    parts = [names(open_now, locale)] if open_now else []
    parts += [
        _("{names} (from {date})").format(
            names=names(codes, locale), date=format_day(since, locale)
        )
        for since, codes in sorted(later.items())
    ]
    if not parts:
        return ""
    return "🗺 " + _("Service regions: {names}").format(names="; ".join(parts))


def section_text(view: PolicyView, regions: RegionsView, now: datetime, locale: str) -> str:
    lines = [_("<b>Service regions · policy {number}</b>").format(number=view.policy.number)]
    if regions.territory == Territory.REGIONAL:
        lines.append(_("Under your variant, clinics in all regions of Russia are available."))
    elif regions.territory == Territory.REGIONAL_EXCLUDING_CAPITALS:
        lines.append(
            _(
                "Under your variant, clinics in all regions of Russia are available except "
                "Moscow and Moscow oblast, Saint Petersburg and Leningrad oblast."
            )
        )
    if regions.territory in CHOOSABLE:
        lines.append(
            _(
                "Choose the regions where you plan to get care. Any number of regions, at no "
                "extra cost; more can be added at any time while the policy is valid. Clinics "
                "of a chosen region are available from the next day."
            )
        )
    line = regions_line(regions, now, locale)
    if regions.to_choose:
        line = _("No regions are chosen yet.")
    if line:
        lines.append(line)
    if regions.refusal is not None and regions.refusal is not Refusal.NO_TERRITORY:
        lines.append(refusal_text(regions.refusal, regions.opens, locale))
    return "\n".join(lines)


def section_keyboard(view: PolicyView, regions: RegionsView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if regions.refusal is None:
        builder.button(
            text=_("➕ Choose regions"),
            callback_data=RegionCallback(action=RegionAction.CHOOSE, policy=view.id),
        )
    elif regions.refusal is Refusal.FRANCHISE_FIRST:
        builder.button(
            text=_("✅ Activate the franchise program"),
            callback_data=FranchiseCallback(id=view.id, action=FranchiseAction.TERMS),
        )
    builder.adjust(1)
    # Back and Menu in the last row: a screen whose only button led to the policy looked like a
    # notification's, so «⬅️ Policy» sent a new card instead of replacing it (a walker's).
    return with_nav(builder.as_markup(), back=PolicyCallback(id=view.id), back_text=_("⬅️ Policy"))


async def show_section(
    query: CallbackQuery,
    callback_data: PolicyCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    if not isinstance(query.message, Message):
        return
    if await state.get_state() == Regions.choosing:
        await drop_draft(state)  # "Back" from the picker: the unconfirmed ticks are dropped
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    regions = await regions_of(session, view, now=clock.now())
    await show(
        query,
        section_text(view, regions, clock.now(), user.language),
        section_keyboard(view, regions),
    )


# --- the picker -----------------------------------------------------------------------------
def matches(draft: RegionDraft, territory: str) -> list[Subject]:
    allowed = {s.code for s in choosable(territory)}
    return [s for s in search(draft.query) if s.code in allowed]


def picker_text(view: PolicyView, draft: RegionDraft, found: int, locale: str) -> str:
    lines = [
        _("<b>Choose service regions · policy {number}</b>").format(number=view.policy.number),
        _(
            "Tick the regions where you plan to get care, then press «Confirm». To find a "
            "region, send part of its name."
        ),
    ]
    if draft.query:
        lines.append(
            _("Search «{query}»: {count} found.").format(query=escape(draft.query), count=found)
        )
    if draft.picked:
        lines.append(_("Ticked: {names}.").format(names=names(draft.picked, locale)))
    return "\n".join(lines)


def picker_keyboard(
    draft: RegionDraft, subjects: list[Subject], confirmed: set[str], locale: str
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    pages = max((len(subjects) + PAGE - 1) // PAGE, 1)
    page = min(draft.page, pages - 1)
    shown = subjects[page * PAGE : (page + 1) * PAGE]
    for subject in shown:
        mark = "☑️ " if subject.code in confirmed else "✅ " if subject.code in draft.picked else ""
        builder.button(
            text=mark + subject.name(locale),
            callback_data=RegionCallback(
                action=RegionAction.PICK, policy=draft.policy, code=subject.code, page=page
            ),
        )
    sizes = [1] * len(shown)
    if pages > 1:
        builder.button(
            text="◀️",
            callback_data=RegionCallback(
                action=RegionAction.PAGE, policy=draft.policy, page=(page - 1) % pages
            ),
        )
        builder.button(
            text=f"{page + 1}/{pages}",
            callback_data=RegionCallback(action=RegionAction.PAGE, policy=draft.policy, page=page),
        )
        builder.button(
            text="▶️",
            callback_data=RegionCallback(
                action=RegionAction.PAGE, policy=draft.policy, page=(page + 1) % pages
            ),
        )
        sizes.append(3)
    if draft.query:
        builder.button(
            text=_("✖️ Show all regions"),
            callback_data=RegionCallback(action=RegionAction.CLEAR, policy=draft.policy),
        )
        sizes.append(1)
    if draft.picked:
        builder.button(
            text=_("Confirm ({count})").format(count=len(draft.picked)),
            callback_data=RegionCallback(
                action=RegionAction.REVIEW, policy=draft.policy, page=page
            ),
        )
        sizes.append(1)
    builder.button(
        text=_("⬅️ Back"), callback_data=PolicyCallback(id=draft.policy, action=PolicyAction.REGIONS)
    )
    builder.adjust(*sizes, 1)
    return builder.as_markup()


async def draft_of(state: FSMContext) -> RegionDraft | None:
    """The open picker's draft; also after a menu tap left it (no state, the ticks kept in the
    data): its buttons and «Choose regions» take it up again."""
    if await state.get_state() not in (Regions.choosing.state, None):
        return None
    raw = (await state.get_data()).get(REGIONS_KEY)
    return RegionDraft.model_validate(raw) if raw else None


async def drop_draft(state: FSMContext) -> None:
    """The picker is closed: its ticks go, the other dialogs' drafts stay."""
    data = await state.get_data()
    data.pop(REGIONS_KEY, None)
    await state.set_data(data)
    await state.set_state(None)


async def render_picker(
    event: Message | CallbackQuery,
    draft: RegionDraft,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    view = await my_policy(session, user, draft.policy, today=clock.now().date())
    regions = await regions_of(session, view, now=clock.now())
    subjects = matches(draft, regions.territory)
    pages = max((len(subjects) + PAGE - 1) // PAGE, 1)
    draft.page = draft.page % pages  # ◀️ on the first page goes to the last one
    await state.set_state(Regions.choosing)
    await state.update_data({REGIONS_KEY: draft.model_dump()})
    text = picker_text(view, draft, len(subjects), user.language)
    markup = picker_keyboard(draft, subjects, set(regions.chosen), user.language)
    await show(event, text, markup)


async def start_choosing(
    query: CallbackQuery,
    callback_data: RegionCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    if not isinstance(query.message, Message):
        return
    view = await my_policy(session, user, callback_data.policy, today=clock.now().date())
    regions = await regions_of(session, view, now=clock.now())
    if regions.refusal is not None:
        await show(
            query,
            refusal_text(regions.refusal, regions.opens, user.language),
            back=PolicyCallback(id=view.id),
            back_text=_("⬅️ Policy"),
            menu=True,
        )
        return
    draft = await draft_of(state)
    if draft is None or draft.policy != view.id:
        draft = RegionDraft(policy=view.id)
    await state.set_state(Regions.choosing)
    await render_picker(query, draft, state, session, user, clock)


async def stale(query: CallbackQuery, callback_answer: CallbackAnswer, policy: int = 0) -> None:
    """A picker button whose picker is gone (saved, left, or another policy's opened since):
    it changes nothing, says so and offers the regions of its own policy."""
    text = _("This list is out of date. Open the regions from the policy card.")
    if not policy:
        callback_answer.text, callback_answer.show_alert = text, True
        return
    await show(
        query,
        text,
        back=PolicyCallback(id=policy, action=PolicyAction.REGIONS),
        back_text=_("🗺 Regions"),
        menu=True,
    )


def own_draft(draft: RegionDraft | None, callback_data: RegionCallback) -> bool:
    """The picker the button belongs to is the one open now (buttons before the policy was in
    them, policy 0, are taken as the open one's)."""
    return draft is not None and callback_data.policy in (0, draft.policy)


async def on_picker(
    query: CallbackQuery,
    callback_data: RegionCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await draft_of(state)
    if (
        draft is None
        or not own_draft(draft, callback_data)
        or not isinstance(query.message, Message)
    ):
        await stale(query, callback_answer, callback_data.policy)
        return
    action = callback_data.action
    if action is RegionAction.PICK:
        view = await my_policy(session, user, draft.policy, today=clock.now().date())
        regions = await regions_of(session, view, now=clock.now())
        if callback_data.code in regions.chosen:
            callback_answer.text = _("This region is confirmed already; regions are not removed.")
            callback_answer.show_alert = True
            return
        if callback_data.code in draft.picked:
            draft.picked.remove(callback_data.code)
        elif callback_data.code in {s.code for s in choosable(regions.territory)}:
            draft.picked.append(callback_data.code)
        draft.page = callback_data.page
    elif action is RegionAction.PAGE:
        draft.page = callback_data.page
    elif action is RegionAction.CLEAR:
        draft.query, draft.page = "", 0
    await render_picker(query, draft, state, session, user, clock)


async def review(
    query: CallbackQuery,
    callback_data: RegionCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await draft_of(state)
    if (
        draft is None
        or not own_draft(draft, callback_data)
        or not isinstance(query.message, Message)
    ):
        await stale(query, callback_answer, callback_data.policy)
        return
    if not draft.picked:
        callback_answer.text = _("Tick at least one region first.")
        return
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ Confirm"),
        callback_data=RegionCallback(action=RegionAction.SAVE, policy=draft.policy),
    )
    builder.button(
        text=_("⬅️ Change the choice"),
        callback_data=RegionCallback(
            action=RegionAction.PAGE, policy=draft.policy, page=draft.page
        ),
    )
    builder.adjust(1)
    text = _(
        "<b>Confirm the regions</b>\n{names}\n\nTheir clinics will be available from "
        "{date}. Confirmed regions cannot be removed; more can be added later."
    ).format(
        names=names(draft.picked, user.language),
        date=format_day(next_day(clock.now()), user.language),
    )
    view = await my_policy(session, user, draft.policy, today=clock.now().date())
    program_id = view.program.id if view.program else None
    if empty := await without_clinics(session, program_id, draft.picked):
        text += "\n\n" + _(
            "⚠️ The program has no clinics yet in: {names}. Choosing it opens none there; for "
            "care there, call the 24/7 desk."
        ).format(names=names(empty, user.language))
    await query.message.edit_text(text, reply_markup=builder.as_markup())


async def save(
    query: CallbackQuery,
    callback_data: RegionCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await draft_of(state)
    if (
        draft is None
        or not own_draft(draft, callback_data)
        or not isinstance(query.message, Message)
    ):
        await stale(query, callback_answer, callback_data.policy)
        return
    view = await my_policy(session, user, draft.policy, today=clock.now().date())
    try:
        await confirm_regions(session, view, draft.picked, clock.now())
    except RegionsNotAllowed as refused:
        await drop_draft(state)
        await query.message.answer(refusal_text(refused.refusal, None, user.language))
        return
    except RegionNotCovered:
        await query.message.answer(_("Some of the ticked regions are not covered by the policy."))
        return
    await drop_draft(state)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("⬅️ Policy"), callback_data=PolicyCallback(id=view.id))
    await query.message.edit_text(
        _(
            "Saved: {names}. Their clinics will be available from {date}; I will write to you "
            "that day."
        ).format(
            names=names(draft.picked, user.language),
            date=format_day(next_day(clock.now()), user.language),
        ),
        reply_markup=builder.as_markup(),
    )


async def search_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    draft = await draft_of(state)
    if draft is None or message.text is None:
        return
    query = " ".join(message.text.split())[:QUERY_LIMIT]
    view = await my_policy(session, user, draft.policy, today=clock.now().date())
    if not matches(draft.model_copy(update={"query": query}), view.policy.territory):
        await message.answer(
            _("No region matches «{query}». Try another part of the name.").format(
                query=escape(query)
            )
        )
        return  # the previous search and the ticks stay
    draft.query, draft.page = query, 0
    await render_picker(message, draft, state, session, user, clock)


async def not_a_search(message: Message) -> None:
    await message.answer(_("Send part of a region's name as text, or tap regions in the list."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(
        show_section, PolicyCallback.filter(F.action == PolicyAction.REGIONS)
    )
    actions = RegionCallback.filter
    router.callback_query.register(start_choosing, actions(F.action == RegionAction.CHOOSE))
    router.callback_query.register(review, actions(F.action == RegionAction.REVIEW))
    router.callback_query.register(save, actions(F.action == RegionAction.SAVE))
    router.callback_query.register(on_picker, actions())
    router.message.register(search_typed, Regions.choosing, F.text, ~(F.text == BACK))
    router.message.register(not_a_search, Regions.choosing)
    return router
