"""The help sections (seed 004, seed 000 5.1): how to get each kind of care with the person's own
desk number, the FAQ with answers that lead to the right section, telemedicine, buying a policy,
and the contacts with the curator of the person's contract."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    AppealStartCallback,
    ClinicsAction,
    ClinicsCallback,
    GuideCallback,
    PoliciesAction,
    PoliciesCallback,
    StaleButton,
)
from bot.keyboards.cached import per_language
from bot.screens import show
from bot.texts import quoted, screen_pages
from core.accounts.models import User
from core.appeals.models import AppealKind
from core.clock import Clock
from core.config import Settings
from core.policies.cabinet import PolicyView, my_policies
from core.policies.care import CareType, care_title
from core.policies.models import Program

FAQ = ("refused", "tests", "city", "duplicate", "data", "add_clinic", "attached", "home", "narrow")
PRODUCTS = ("dms", "travel", "osago", "kasko", "property")


@per_language
def guide_keyboard(here: str = "help") -> InlineKeyboardMarkup:
    """The help sections, but for the one the screen is (`here`): no button points to itself."""
    builder = InlineKeyboardBuilder()
    for text, topic in (
        (_("🩺 How to get care"), "care"),
        (_("❓ Questions and answers"), "faq"),
        (_("📱 Telemedicine"), "telemed"),
        (_("🛒 Buy a policy"), "shop"),
        (_("☎️ Contacts"), "contacts"),
    ):
        if topic != here:
            builder.button(text=text, callback_data=GuideCallback(topic=topic))
    builder.adjust(2)
    return builder.as_markup()


def help_text() -> str:
    return _(
        "<b>Help</b>\n"
        "/menu — main menu\n"
        "/cancel — stop the current action\n"
        "/policies — my policies\n"
        "/clinics — find a clinic\n"
        "/appeals — my appeals\n"
        "/bookings — my bookings\n"
        "/profile — profile and registration\n"
        "/language — change the language\n"
        "/contacts — the 24/7 medical desk\n\n"
        "Share your location with the «Nearest clinics» button to see the closest clinics. "
        "Commands work at any step; what you already entered is kept."
    )


async def help_(message: Message) -> None:
    await message.answer(help_text(), reply_markup=guide_keyboard())


@dataclass(frozen=True, slots=True)
class Contract:
    """One program the person (or their child) is insured under, with its policies."""

    program: Program
    views: tuple[PolicyView, ...]

    @property
    def numbers(self) -> str:
        return ", ".join(f"{v.policy.number} ({v.person.first_name})" for v in self.views)


async def contracts_of(session: AsyncSession, user: User, clock: Clock) -> list[Contract]:
    """Every program of the person's DMS policies, their own first (seed 004: a desk and
    curators per contract)."""
    views = await my_policies(session, user, today=clock.now().date())
    grouped: dict[int, list[PolicyView]] = {}
    programs: dict[int, Program] = {}
    for view in sorted(views, key=lambda v: v.as_child):
        if view.program is not None:
            grouped.setdefault(view.program.id, []).append(view)
            programs[view.program.id] = view.program
    return [Contract(programs[pid], tuple(found)) for pid, found in grouped.items()]


def desk_of(contract: Contract | None, settings: Settings) -> str:
    if contract is not None and contract.program.desk_phone:
        return contract.program.desk_phone
    return settings.insurer.phone_federal


def care_steps(care: str, desk: str) -> str:
    steps = {
        CareType.OUTPATIENT: _(
            "1. Choose a clinic of your program («🏥 Clinics»).\n"
            "2. Book: online where the clinic offers it, at the clinic's reception with your "
            "policy, or through the desk {desk}.\n"
            "3. Take your passport and the policy (the number is enough)."
        ),
        CareType.DENTAL: _(
            "1. Choose a dental clinic of your program.\n"
            "2. Book at the clinic's reception or through the desk {desk}.\n"
            "3. Prosthetics and preventive care are usually not covered: see «What is covered»."
        ),
        CareType.HOME_VISIT: _(
            "Call the clinic's reception or the desk {desk}: a doctor comes within the program's "
            "area (in Moscow, within 30 km of the ring road). Say your policy number and address."
        ),
        CareType.EMERGENCY: _(
            "Call 112 or 103 at once when life is at risk. Then call the desk {desk}: it watches "
            "that the ambulance arrives and arranges a hospital."
        ),
        CareType.HOSPITAL: _(
            "Planned: the doctor's referral, then the desk {desk} arranges the hospital. "
            "Emergency: the ambulance takes you; tell the desk as soon as you can."
        ),
        CareType.TELEMEDICINE: _(
            "Open «📱 Telemedicine» in the help: a doctor answers online; the access comes with "
            "the policy within a day."
        ),
    }
    return steps.get(CareType(care), _("Call the desk {desk}.")).format(desk=desk)


def faq_question(key: str) -> str:
    return {
        "refused": _("What if the clinic refused me?"),
        "tests": _("The tests I was given are not done in my clinic"),
        "city": _("How do I get care in another city?"),
        "duplicate": _("How do I get a duplicate of the policy?"),
        "data": _("How do I change my personal data?"),
        "add_clinic": _("How do I add a clinic to the program?"),
        "attached": _("Which clinics am I attached to?"),
        "home": _("How do I call a doctor home?"),
        "narrow": _("How do I see a narrow specialist?"),
    }[key]


def faq_answer(key: str, desk: str) -> tuple[str, tuple[str, CallbackData] | None]:
    answers: dict[str, tuple[str, tuple[str, CallbackData] | None]] = {
        "refused": (
            _(
                "Call the desk {desk} from the clinic: the operator settles it at once. Then "
                "tell us about it in a complaint."
            ),
            (_("👎 Complaint"), AppealStartCallback(kind=AppealKind.COMPLAINT)),
        ),
        "tests": (
            _("The desk {desk} sends you to another clinic of the network where they are done."),
            (_("📞 Call me back"), AppealStartCallback(kind=AppealKind.CALLBACK)),
        ),
        "city": (
            _(
                "Clinics of your chosen regions are in «🏥 Clinics»; for other cities, call the "
                "desk {desk}: it arranges care where you are."
            ),
            (_("🏥 Find clinics"), ClinicsCallback(action=ClinicsAction.HUB)),
        ),
        "duplicate": (
            _("Download it in the policy card: «📄 Policy (PDF)»."),
            (_("📋 My policies"), PoliciesCallback(action=PoliciesAction.LIST)),
        ),
        "data": (
            _(
                "Send an appeal with the new data and a photo of the document; for a corporate "
                "policy, your HR department tells the insurer too."
            ),
            (_("✍️ Change of data"), AppealStartCallback(kind=AppealKind.DATA_CHANGE)),
        ),
        "add_clinic": (
            _("Send a request with the clinic's name and address: the insurer checks it."),
            (_("➕ Add a clinic"), AppealStartCallback(kind=AppealKind.ADD_CLINIC)),
        ),
        "attached": (
            _(
                "The policy card lists «Clinics of the program» by type of care; the memo (PDF) "
                "has them too."
            ),
            (_("📋 My policies"), PoliciesCallback(action=PoliciesAction.LIST)),
        ),
        "home": (
            _("Call the clinic's reception or the desk {desk}."),
            None,
        ),
        "narrow": (
            _(
                "A narrow specialist (a hepatologist, a neurosurgeon...) is arranged by the desk "
                "{desk} or through an appointment request."
            ),
            (_("📝 Appointment request"), AppealStartCallback(kind=AppealKind.APPOINTMENT)),
        ),
    }
    text, button = answers[key]
    return text.format(desk=desk), button


async def on_guide(
    query: CallbackQuery,
    callback_data: GuideCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message):
        return
    contracts = await contracts_of(session, user, clock)
    own = contracts[0] if contracts else None
    insurer = settings.insurer
    desk = desk_of(own, settings)
    builder = InlineKeyboardBuilder()
    topic, item = callback_data.topic, callback_data.item
    known = (
        {c.value for c in CareType}
        if topic == "care"
        else set(FAQ)
        if topic == "faq"
        else {f"p{n}" for n in range(1, 10)}
        if topic == "contacts"
        else set()
    )
    if item and item.partition(".")[0] not in known:  # care items may name their program
        raise StaleButton(f"no {topic} item {item!r}")
    back: CallbackData = GuideCallback(topic="help")
    back_text = _("⬅️ Help")
    if topic == "help":
        await show(query, help_text(), guide_keyboard(), menu=True)
        return
    if topic == "care" and not item:
        text = care_overview(contracts, settings, builder)
    elif topic == "care":
        care, _sep, program_id = item.partition(".")
        contract = next((c for c in contracts if str(c.program.id) == program_id), None)
        text = f"<b>{care_title(care, _)}</b>"
        if contract is not None:
            text += f" · {escape(contract.program.name)}"
        text += "\n" + care_steps(care, desk_of(contract, settings))
        back, back_text = GuideCallback(topic="care"), _("⬅️ Kinds of care")
    elif topic == "faq" and not item:
        for key in FAQ:
            builder.button(
                text=faq_question(key), callback_data=GuideCallback(topic="faq", item=key)
            )
        text = _("<b>Questions and answers</b>")
    elif topic == "faq" and item in FAQ:
        answer, button = faq_answer(item, desk)
        text = f"<b>{faq_question(item)}</b>\n{answer}"
        if button is not None:
            builder.button(text=button[0], callback_data=button[1])
        back, back_text = GuideCallback(topic="faq"), _("⬅️ Questions")
    elif topic == "telemed":
        text = telemedicine_text(contracts, settings)
        builder.button(text=_("📱 Open the telemedicine service"), url=insurer.telemedicine_url)
    elif topic == "shop":
        text = _("<b>Buy a policy online</b>\nChoose the product:")
        titles = {
            "dms": _("DMS"),
            "travel": _("Travel"),
            "osago": _("OSAGO"),
            "kasko": _("KASKO"),
            "property": _("Property"),
        }
        for product in PRODUCTS:
            builder.button(text=titles[product], url=f"{insurer.shop_url}?product={product}")
    else:
        pages, page = contacts_pages(settings, contracts), contacts_page(item)
        if page >= len(pages):  # an old «More»: the person's contracts changed since
            raise StaleButton(f"no contacts page {page}")
        text = pages[page]
        add_more(builder, pages, page)
        if page:
            back = GuideCallback(topic="contacts", item=f"p{page - 1}" if page > 1 else "")
            back_text = _("⬅️ Back")
    builder.adjust(1)
    await show(query, text, builder.as_markup(), back=back, back_text=back_text, menu=True)


def care_overview(
    contracts: list[Contract], settings: Settings, builder: InlineKeyboardBuilder
) -> str:
    """Each program's kinds of care with that program's desk number (issue 17 item 13)."""
    lines = [_("<b>How to get care</b>")]
    if not contracts:
        for care in CareType:
            builder.button(
                text=care_title(care, _), callback_data=GuideCallback(topic="care", item=care)
            )
        lines.append(
            _("The desk {desk} helps with any kind of care.").format(
                desk=settings.insurer.phone_federal
            )
        )
        return "\n".join(lines)
    for contract in contracts:
        program = contract.program
        lines.append(
            "\n"
            + _("<b>{program}</b>\nPolicies: {numbers}\nDesk, 24/7: {desk}").format(
                program=escape(program.name),
                numbers=escape(contract.numbers),
                desk=desk_of(contract, settings),
            )
        )
        lines.append(", ".join(care_title(care, _) for care in program.care_types))
        for care in program.care_types:
            label = care_title(care, _)
            if len(contracts) > 1:
                label += f" · {program.name}"
            builder.button(
                text=label[:64],
                callback_data=GuideCallback(topic="care", item=f"{care}.{program.id}"),
            )
    lines.append("\n" + _("Choose the kind of care:"))
    return "\n".join(lines)


def telemedicine_text(contracts: list[Contract], settings: Settings) -> str:
    """Whether each of the person's programs covers telemedicine, and the service's numbers,
    from the program's data or the insurer's (seed 004)."""
    insurer = settings.insurer
    lines = [
        _(
            "<b>Telemedicine</b>\nOnline consultations with a doctor (a therapist, a "
            "paediatrician and other specialists) by video or chat. The access is activated "
            "within 24 hours after you register on the service."
        )
    ]
    phones = {insurer.telemedicine_phone}
    for contract in contracts:
        program = contract.program
        covered = CareType.TELEMEDICINE.value in program.care_types
        lines.append(
            (
                _("✅ {program} ({numbers}): included.")
                if covered
                else _("❌ {program} ({numbers}): not in the program.")
            ).format(program=escape(program.name), numbers=escape(contract.numbers))
        )
        if covered and program.telemedicine_phone:
            phones.add(program.telemedicine_phone)
    if not contracts:
        lines.append(_("Add your policy to see whether it includes telemedicine."))
    lines.append(
        _("The service: {phones}; online: {url}").format(
            phones=", ".join(sorted(phones)), url=insurer.telemedicine_url
        )
    )
    return "\n".join(lines)


def contacts_pages(settings: Settings, contracts: list[Contract]) -> list[str]:
    """The insurer's desk, then each contract's own desk and curators: pages of at most
    `SCREEN_LINES` lines, the next one behind «📖 More» (CONVERSATION.md 7)."""
    insurer = settings.insurer
    text = _(
        "<b>{insurer}: medical desk, 24/7</b>\n"
        "Free call in Russia: {federal}\n"
        "Moscow: {moscow}\n"
        "Saint Petersburg: {spb}\n"
        "E-mail: {email}\n\n"
        "Call the desk before a visit if you are unsure which clinic to go to, "
        "and at once in an emergency."
    ).format(
        insurer=insurer.name,
        federal=insurer.phone_federal,
        moscow=insurer.phone_moscow,
        spb=insurer.phone_spb,
        email=insurer.email,
    )
    blocks = []
    for contract in contracts:  # seed 004: a medical and an administrative curator per contract
        program = contract.program
        # A program with a desk of its own (seed 001): the number its messages send people to.
        desk = program.desk_phone if program.desk_phone != insurer.phone_federal else None
        if not program.curator and not program.admin_curator and not desk:
            continue
        # The contract, its own desk (round the clock), then its curators (weekday hours): a
        # walker read the desk under the curators' "Mon–Fri 9:00–18:00".
        lines = [f"<b>«{quoted(program.name)}»</b> · {escape(contract.numbers)}"]
        if desk:
            lines.append(_("The program's 24/7 desk: {phone}").format(phone=escape(desk)))
        if program.curator or program.admin_curator:
            lines.append(_("Curators, Mon–Fri 9:00–18:00:"))
        if program.curator:
            lines.append(
                _("Curator doctor (complex cases, hospitals, the program): {curator}").format(
                    curator=escape(program.curator)
                )
            )
        if program.admin_curator:
            lines.append(
                _("Administrative curator (the contract, documents): {curator}").format(
                    curator=escape(program.admin_curator)
                )
            )
        blocks.append("\n" + "\n".join(lines))
    return screen_pages(text, blocks)


def contacts_page(item: str) -> int:
    """«p2» -> 2: the page a contacts button shows (0: the first)."""
    return int(item[1:]) if item.startswith("p") else 0


def add_more(builder: InlineKeyboardBuilder, pages: list[str], page: int) -> None:
    if page + 1 < len(pages):
        builder.button(
            text=_("📖 More"), callback_data=GuideCallback(topic="contacts", item=f"p{page + 1}")
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(on_guide, GuideCallback.filter())
    return router
