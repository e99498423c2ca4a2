"""Finding a clinic the person may visit (seed 000 3.2-3.4): by name, by type of care for a
policy, nearest to a shared location. Every list shows the clinics the person may visit; a
switch adds the others with the reason."""

from __future__ import annotations

import logging
from html import escape

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    AppealStartCallback,
    BookingsCallback,
    CareCallback,
    ClinicCallback,
    ClinicPageCallback,
    ClinicsAction,
    ClinicsCallback,
    ListKind,
    PolicyAction,
    PolicyCallback,
)
from bot.fsm.clinics import ClinicSearch
from bot.handlers.booking import pending_draft, resume_button
from bot.handlers.clinic_card import add_fix, reason_text
from bot.keyboards.next_steps import add_policy_button, buy_button, next_steps, register_button
from bot.keyboards.registration import BACK
from bot.screens import show, with_nav
from bot.texts import clean_input
from core.accounts.models import Account, User
from core.appeals.models import AppealKind
from core.clinics.availability import (
    Access,
    Entitlement,
    NearbyClinic,
    best_access,
    entitlement_of,
    nearest_for,
    rights_of,
)
from core.clinics.index import ClinicDirectory, ClinicIndex, Entry, Hit
from core.clinics.search import by_name
from core.clinics.searches import recall_search, remember_search
from core.clock import Clock
from core.config import Settings
from core.formatting import babel_round, format_number
from core.policies.cabinet import Status, my_policies, my_policy
from core.policies.care import CareType, care_title

PAGE = 8
FAR_KM = 100  # a nearest clinic farther than this: the person is in another city
log = logging.getLogger(__name__)


def format_distance(km: float, locale: str) -> str:
    """Meters to the ten under a kilometre, tenths of a kilometre under a hundred: the unit
    and the precision are chosen by the figure as shown (999.6 m reads «1,0 км», not
    «1 000 м»; 99.97 km reads «100 км»)."""
    meters = round(km * 1000, -1)
    if meters < 10:  # at the clinic's door: «0 м» read as a mistake (a walker's)
        return _("under 10 m")
    if meters < 1000:
        return _("{meters} m").format(meters=format_number(meters, locale))
    digits = "#,##0.0" if babel_round(km, 1) < 100 else "#,##0"
    return _("{km} km").format(km=format_number(km, locale, digits))


# --- the hub ------------------------------------------------------------------------------------
def hub_markup(resume: InlineKeyboardButton | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if resume is not None:  # a booking left unconfirmed: first, on its own row
        builder.row(resume)
    builder.button(
        text=_("🔎 By name"), callback_data=ClinicsCallback(action=ClinicsAction.BY_NAME)
    )
    builder.button(
        text=_("🩺 By type of care"), callback_data=ClinicsCallback(action=ClinicsAction.BY_CARE)
    )
    builder.button(text=_("📅 My bookings"), callback_data=BookingsCallback())
    builder.button(
        text=_("➕ Add a clinic to the program"),
        callback_data=AppealStartCallback(kind=AppealKind.ADD_CLINIC),
    )
    builder.adjust(*([1] if resume is not None else []), 2, 1, 1)
    return with_nav(builder.as_markup())


def hub_text() -> str:
    return _(
        "<b>Clinics</b>\nFind a clinic you may visit under your policy. For the nearest "
        "ones, tap «📍 Nearest clinics» below or send a location from the attachment menu."
    )


async def _resume(
    state: FSMContext, session: AsyncSession, user: User, clock: Clock
) -> InlineKeyboardButton | None:
    draft = await pending_draft(state, session, clock)
    return resume_button(draft, user.language) if draft is not None else None


async def hub(
    message: Message, state: FSMContext, session: AsyncSession, user: User, clock: Clock
) -> None:
    resume = await _resume(state, session, user, clock)
    await message.answer(hub_text(), reply_markup=hub_markup(resume))


async def hub_again(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User, clock: Clock
) -> None:
    await show(query, hub_text(), hub_markup(await _resume(state, session, user, clock)))


HUB = ClinicsCallback(action=ClinicsAction.HUB)


# --- one list for every search ------------------------------------------------------------------
def list_markup(
    items: list[tuple[Entry, Access, str]],
    page: int,
    total: int,
    turn: ClinicPageCallback | CareCallback,
    everything: bool,
    policy: int = 0,
    *,
    has_policy: bool = True,
    paged: bool = True,
    back: CallbackData = HUB,
    back_text: str | None = None,
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for entry, access, suffix in items:
        mark = "" if access.available else "⛔ "
        builder.button(
            text=f"{mark}{entry.name}{suffix}",
            callback_data=ClinicCallback(id=entry.id, policy=policy),
        )
    sizes = [1] * len(items)
    pages = (total + PAGE - 1) // PAGE if paged else 1
    nav = 0
    # the pages of the same list: of every clinic, or of those the person may visit
    if page > 0:
        back_page = {"page": page - 1, "everything": everything}
        builder.button(text="◀️", callback_data=turn.model_copy(update=back_page))
        nav += 1
    if page + 1 < pages:
        next_page = {"page": page + 1, "everything": everything}
        builder.button(text="▶️", callback_data=turn.model_copy(update=next_page))
        nav += 1
    if nav:
        sizes.append(nav)
    if has_policy:
        builder.button(
            text=_("✅ Only those I may visit") if everything else _("👁 Show unavailable too"),
            callback_data=turn.model_copy(update={"page": 0, "everything": not everything}),
        )
    else:  # every clinic is listed alike: no switch, but the way to learn which ones are open
        builder.add(add_policy_button())  # (CONVERSATION.md 3; unregistered, it leads there)
    builder.adjust(*sizes, 1)
    return with_nav(builder.as_markup(), back=back, back_text=back_text)


def listing(
    entries: list[Entry], rights: list[Entitlement], index: ClinicIndex, everything: bool
) -> list[tuple[Entry, Access]]:
    if not rights:
        return [(e, Access(0, None)) for e in entries]
    found = [(e, best_access(rights, index, e)) for e in entries]
    return found if everything else [(e, a) for e, a in found if a.available]


def reasons_text(items: list[tuple[Entry, Access, str]], locale: str) -> str:
    lines = [
        f"⛔ {escape(e.name)}: {reason_text(a, locale)}" for e, a, _s in items if not a.available
    ]
    return ("\n\n" + "\n".join(lines)) if lines else ""


# --- by name ------------------------------------------------------------------------------------
async def ask_name(query: CallbackQuery, state: FSMContext) -> None:
    if isinstance(query.message, Message):
        await state.set_state(ClinicSearch.name)
        await show(query, _("Send the clinic's name or a part of it."), back=HUB, menu=True)


async def name_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
) -> None:
    query = " ".join(clean_input(message.text).split())[:100]
    if len(query) < 2:
        await message.answer(_("Send at least two letters of the name."))
        return
    search = await remember_search(session, user.id, query=query, now=clock.now())
    await show_names(message, session, user, clock, directory, query, search, 0, False)


async def show_names(
    event: Message | CallbackQuery,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
    query: str,
    search: int,
    page: int,
    everything: bool,
) -> None:
    index = await directory.index(session)
    rights = await rights_of(session, user, clock.now())
    named = by_name(index, query)
    found = listing(named, rights, index, everything)
    if not found:
        hidden = bool(named) and not everything
        text = (
            _("Clinics named like «{query}» exist, but you may not visit them now.")
            if hidden
            else _(
                "Nothing found for «{query}». Check the spelling or try another part of the name."
            )
        ).format(query=escape(query))
        builder = InlineKeyboardBuilder()
        if hidden:
            builder.button(
                text=_("👁 Show unavailable too"),
                callback_data=ClinicPageCallback(
                    kind=ListKind.NAME, search=search, everything=True
                ),
            )
        await show(event, text, builder.as_markup(), back=HUB, menu=True)
        return
    shown = [(e, a, "") for e, a in found[page * PAGE : (page + 1) * PAGE]]
    text = _("Found for «{query}»: {count}. Send another name to search again.").format(
        query=escape(query), count=len(found)
    )
    turn = ClinicPageCallback(kind=ListKind.NAME, search=search)
    # Without a policy, no switch that would change nothing (a walker's did): «Add a policy».
    markup = list_markup(shown, page, len(found), turn, everything, has_policy=bool(rights))
    if not rights:
        text += "\n" + _("Add your policy to see which of them you may visit.")
    await show(event, text + reasons_text(shown, user.language), markup)


async def not_a_name(message: Message) -> None:
    await message.answer(_("Send the clinic's name as text."))


# --- nearest ------------------------------------------------------------------------------------
async def location_shared(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
    settings: Settings,
) -> None:
    point = message.venue.location if message.venue else message.location
    assert point is not None  # the filter guarantees it
    search = await remember_search(
        session, user.id, point=(point.latitude, point.longitude), now=clock.now()
    )
    await show_nearest(
        message,
        session,
        user,
        clock,
        directory,
        settings,
        point.latitude,
        point.longitude,
        search,
        False,
    )


async def show_nearest(
    event: Message | CallbackQuery,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
    settings: Settings,
    latitude: float,
    longitude: float,
    search: int,
    everything: bool,
) -> None:
    index = await directory.index(session)
    if not len(index):
        await show(event, _("The clinic directory is empty for now."), menu=True)
        return
    rights = await rights_of(session, user, clock.now())
    found = nearest_for(index, rights, latitude, longitude, k=5, everything=everything)
    turn = ClinicPageCallback(kind=ListKind.NEAR, search=search)
    if not found:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=_("👁 Show unavailable too"),
            callback_data=turn.model_copy(update={"everything": True}),
        )
        await show(
            event,
            policies_line(rights)
            + _("There is no clinic you may visit now. See the nearest ones with the reasons:"),
            builder.as_markup(),
            back=HUB,
            menu=True,
        )
        return
    closest = format_distance(found[0].hit.distance_km, user.language)
    under = policies_line(rights)
    if not rights:
        text = _(
            "Clinics of the network nearest to you (the closest is {distance} away). Add your "
            "policy to see which ones you may visit."
        )
    elif everything:
        text = _("Clinics nearest to you (the closest is {distance} away):")
    else:
        text = _("Clinics nearest to you that you may visit (the closest is {distance} away):")
    items = [near_item(n, user.language) for n in found]
    # One screen, up to ten clinics (the five nearest open ones and the five nearest at all):
    # no page turn that would show the same screen again (a walker's ▶️ did).
    markup = list_markup(
        items, 0, len(items), turn, everything, has_policy=bool(rights), paged=False
    )
    far = ""
    if rights and found[0].hit.distance_km > FAR_KM:  # another city: the desk arranges care
        phone = (
            found[0].access.desk_phone
            or next((r.desk_phone for r in rights if r.desk_phone), None)
            or settings.insurer.phone_federal
        )
        far = "\n\n" + _(
            "None of them is near you. Away from home, call the 24/7 desk {phone}: it arranges "
            "care where you are."
        ).format(phone=phone)
    await show(
        event,
        under + text.format(distance=closest) + reasons_text(items, user.language) + far,
        markup,
    )


def policies_line(rights: list[Entitlement]) -> str:
    """Which policies the nearest clinics are checked against (issue 16: say which)."""
    if not rights:
        return ""
    # An expired policy opens nothing: it is not named beside the valid ones (a walker's list
    # was "checked against" a policy that had ended).
    rights = [r for r in rights if r.status is not Status.EXPIRED] or rights
    named = ", ".join(f"{r.number} ({escape(r.person)})" for r in rights)
    if len(rights) == 1:
        return _("Policy {policies}.").format(policies=named) + "\n"
    return _("Policies {policies}.").format(policies=named) + "\n"


def near_item(near: NearbyClinic, locale: str) -> tuple[Entry, Access, str]:
    hit: Hit = near.hit
    return hit.entry, near.access, " · " + format_distance(hit.distance_km, locale)


async def turn_page(
    query: CallbackQuery,
    callback_data: ClinicPageCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
    settings: Settings,
) -> None:
    """A page or the filter of a list: of that list's own search, whatever came after it."""
    search = await recall_search(session, user.id, callback_data.search)
    page, everything = callback_data.page, callback_data.everything
    if callback_data.kind is ListKind.NAME and search is not None and search.query:
        await show_names(
            query, session, user, clock, directory, search.query, search.id, page, everything
        )
    elif (
        callback_data.kind is ListKind.NEAR
        and search is not None
        and search.latitude is not None
        and search.longitude is not None
    ):
        await show_nearest(
            query,
            session,
            user,
            clock,
            directory,
            settings,
            search.latitude,
            search.longitude,
            search.id,
            everything,
        )
    else:
        log.info("clinic list of user %s: search %s is gone", user.id, callback_data.search)
        await show(
            query,
            _("This list no longer works: please search again."),
            hub_markup(),
        )


# --- by type of care ----------------------------------------------------------------------------
async def choose_policy(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    views = [v for v in await my_policies(session, user, today=clock.now().date()) if v.program]
    if not views:
        first = register_button() if account is None else add_policy_button()
        await show(
            query,
            _("Add your DMS policy first: the types of care come from its program."),
            next_steps(first, buy_button(settings), back=HUB),
        )
        return
    if len(views) == 1:
        await show_care_types(query, views[0].id, session, user, clock)
        return
    builder = InlineKeyboardBuilder()
    for view in views:
        builder.button(
            text=f"{view.policy.number} · {view.person.first_name}",
            callback_data=CareCallback(policy=view.id),
        )
    builder.adjust(1)
    await show(query, _("For which policy?"), builder.as_markup(), back=HUB, menu=True)


async def show_care_types(
    event: CallbackQuery, policy_id: int, session: AsyncSession, user: User, clock: Clock
) -> None:
    view = await my_policy(session, user, policy_id, today=clock.now().date())
    assert view.program is not None
    builder = InlineKeyboardBuilder()
    for care in view.program.care_types:
        builder.button(
            text=care_title(care, _), callback_data=CareCallback(policy=view.id, care=care)
        )
    builder.adjust(1)
    await show(
        event,
        _("<b>Clinics of the program · policy {number}</b>\nChoose the type of care:").format(
            number=view.policy.number
        ),
        builder.as_markup(),
        back=PolicyCallback(id=view.id),
        back_text=_("⬅️ Policy"),
        menu=True,
    )


async def on_care(
    query: CallbackQuery,
    callback_data: CareCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
    settings: Settings,
) -> None:
    if not callback_data.care:
        await show_care_types(query, callback_data.policy, session, user, clock)
        return
    now = clock.now()
    view = await my_policy(session, user, callback_data.policy, today=now.date())
    index = await directory.index(session)
    right = await entitlement_of(session, view, now)
    care = callback_data.care
    members = index.members.get(view.program.id if view.program else 0, {})
    entries = sorted(
        (index.entries[i] for i, kinds in members.items() if care in kinds and i in index.entries),
        key=lambda e: (e.region_code, e.name),
    )
    found = [(e, right.check(index, e, care)) for e in entries]
    if not callback_data.everything:
        found = [(e, a) for e, a in found if a.available]
    page = callback_data.page
    shown = [(e, a, "") for e, a in found[page * PAGE : (page + 1) * PAGE]]
    title = _("<b>{care} · policy {number}</b>").format(
        care=care_title(care, _), number=view.policy.number
    )
    if care == CareType.EMERGENCY:  # never a dead end: who to call comes first of all
        title += "\n" + _(
            "🚑 In an emergency call 103 (112 from a mobile phone) or the 24/7 desk {phone}: "
            "the desk sends an ambulance."
        ).format(phone=right.desk_phone or settings.insurer.phone_federal)
    fix: InlineKeyboardBuilder | None = None
    if not found:
        text = title + "\n" + _("No clinic for this care that you may visit now.")
        closed = [right.check(index, e, care) for e in entries]
        if closed:  # one rule, one reason: every clinic is held by the same first obstacle
            held = min(closed, key=lambda a: a.fix is None)
            text = (
                title
                + "\n"
                + _("No clinic for this care is open to you now: {reason}.").format(
                    reason=reason_text(held, user.language)
                )
            )
            fix = InlineKeyboardBuilder()
            if not add_fix(fix, held):
                fix = None
    else:
        text = title + "\n" + _("Clinics: {count}.").format(count=len(found))
    markup = list_markup(
        shown,
        page,
        len(found),
        callback_data,
        callback_data.everything,
        view.id,
        back=CareCallback(policy=view.id),
        back_text=_("⬅️ Types of care"),
    )
    if fix is not None:  # the action that opens them, first
        markup.inline_keyboard.insert(0, fix.export()[0])
    await show(query, text + reasons_text(shown, user.language), markup)


async def program_clinics(
    query: CallbackQuery,
    callback_data: PolicyCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    await show_care_types(query, callback_data.id, session, user, clock)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(hub_again, ClinicsCallback.filter(F.action == ClinicsAction.HUB))
    router.callback_query.register(
        ask_name, ClinicsCallback.filter(F.action == ClinicsAction.BY_NAME)
    )
    router.callback_query.register(
        choose_policy, ClinicsCallback.filter(F.action == ClinicsAction.BY_CARE)
    )
    router.callback_query.register(turn_page, ClinicPageCallback.filter())
    router.callback_query.register(on_care, CareCallback.filter())
    router.callback_query.register(
        program_clinics, PolicyCallback.filter(F.action == PolicyAction.CLINICS)
    )
    router.message.register(name_typed, ClinicSearch.name, F.text, ~(F.text == BACK))
    router.message.register(not_a_name, ClinicSearch.name)
    return router
