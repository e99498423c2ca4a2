"""Every document the bot sends, in both languages, checked as a reader sees the page.

Driven through the dialog: the policy cards' PDF buttons and the consents' full texts; each
file must have a caption, and on its pages no text may be printed over other text, no word
may be cut without a hyphen, no title or heading may be stretched (justified), and no text
may run off the page.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from aiogram.methods import SendDocument
from aiogram.types import BufferedInputFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import LOCALES_DIR, create_i18n
from core.accounts.models import Account, User
from core.config import InsurerBranding
from core.documents.compose import DocumentKind, Layout, without_label
from core.documents.layout import Bullets, Fields, Heading, Paragraph, Table
from core.documents.service import document_layout
from core.policies.cabinet import my_policies
from tests.conftest import START, seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.pdf_layout import (
    Reading,
    broken_words,
    off_page,
    overlapping,
    pdf_text,
    read,
    stretched_lines,
)
from tests.test_dialog_policies import add_by_number
from tests.test_dialog_registration import register_until_consents

I18N = create_i18n()


@dataclass
class Sent:
    filename: str
    caption: str
    content: bytes


def sent_documents(chat: ChatClient) -> list[Sent]:
    found = []
    for call in chat.sent("sendDocument"):
        assert isinstance(call, SendDocument) and isinstance(call.document, BufferedInputFile)
        found.append(Sent(call.document.filename, call.caption or "", call.document.data))
    return found


def layout_words(layout: Layout) -> str:
    """Every word the layout prints, for telling a piece of a word from a whole one."""
    texts = [layout.title, layout.issuer, "•", "·", *(str(n) for n in range(1, 10))]
    for block in layout.blocks:
        if isinstance(block, Heading | Paragraph):
            texts.append(block.text)
        elif isinstance(block, Fields):
            texts += [text for row in block.rows for text in row]
        elif isinstance(block, Bullets):
            texts += block.items
        elif isinstance(block, Table):
            texts += block.header + [text for row in block.rows for text in row]
    return "\n".join(texts)


async def expected_words(
    sessions: async_sessionmaker[AsyncSession], telegram_id: int, number: str, kind: DocumentKind
) -> str:
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        views = await my_policies(session, user, today=START.date())
        view = next(v for v in views if v.policy.number == number)
        layout = await document_layout(
            session,
            view,
            kind,
            InsurerBranding(),
            lambda message: I18N.gettext(message, locale=user.language),
            user.language,
        )
    return layout_words(layout)


def assert_clean(document: Sent, source: str) -> Reading:
    name = document.filename
    assert document.caption.strip(), f"{name} has no caption"
    assert name.endswith(".pdf"), name
    pdf = read(document.content)
    assert overlapping(pdf) == [], f"{name}: text printed over text"
    assert broken_words(pdf, source) == [], f"{name}: words cut without a hyphen"
    assert stretched_lines(pdf) == [], f"{name}: a justified title or heading"
    assert off_page(pdf) == [], f"{name}: text off the page"
    return pdf


def flat(text: str) -> str:
    """The text as one line, words broken at line ends joined again (for looking words up)."""
    return " ".join(text.replace("-\n", "").split())


POLICY_BUTTONS = {
    "ru": ["📄 Полис (PDF)", "📘 Памятка (PDF)", "📋 Программа (PDF)"],
    "en": ["📄 Policy (PDF)", "📘 Memo (PDF)", "📋 Program (PDF)"],
}
TRAVEL_BUTTON = {"ru": "📄 Полис ВЗР (PDF)", "en": "📄 Travel policy (PDF)"}
KINDS = [DocumentKind.POLICY, DocumentKind.MEMO, DocumentKind.PROGRAM]


async def test_every_policy_document_reads_cleanly_in_both_languages(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")  # a regional program: no hospital care
    await add_by_number(chat, "DMS-K-2026-0001")  # a Moscow corporate one: hospital care
    await add_by_number(chat, "VZR-2026-000123")
    memos: dict[tuple[str, str], str] = {}
    policies: dict[tuple[str, str], str] = {}
    for language in ("ru", "en"):
        if language == "en":
            await chat.send("/language")
            await chat.tap("🇬🇧 English")
        for number in ("ONDL-500001", "DMS-K-2026-0001"):
            for button, kind in zip(POLICY_BUTTONS[language], KINDS, strict=True):
                await chat.send("/policies")
                await chat.tap(f"{number} · Анна")
                await chat.tap(button)
                [document] = sent_documents(chat)
                assert number in document.caption and "Иванова Анна Сергеевна" in document.caption
                words = await expected_words(sessions, chat.user.id, number, kind)
                text = flat(assert_clean(document, words).text)
                if kind is DocumentKind.MEMO:
                    memos[(language, number)] = text
                if kind is DocumentKind.POLICY:
                    policies[(language, number)] = text
        await chat.send("/policies")
        await chat.tap("VZR-2026-000123 · Анна")
        await chat.tap(TRAVEL_BUTTON[language])
        if language == "ru":
            await chat.tap("✅ IVANOVA ANNA")
        [travel] = sent_documents(chat)
        assert "VZR-2026-000123" in travel.caption
        assert_clean(
            travel,
            await expected_words(sessions, chat.user.id, "VZR-2026-000123", DocumentKind.TRAVEL),
        )

    # The memo promises only the care its program covers.
    assert "госпитализ" not in memos[("ru", "ONDL-500001")]
    assert "hospitalisation" not in memos[("en", "ONDL-500001")]
    assert "Стационарная помощь" not in memos[("ru", "ONDL-500001")]
    assert "планов" in memos[("ru", "DMS-K-2026-0001")]
    assert "planned hospitalisation" in memos[("en", "DMS-K-2026-0001")]
    assert "Вызов врача на дом" in memos[("ru", "ONDL-500001")]
    # The curator's label is printed once, by the document, whatever the data say.
    for language, label in (("ru", "Врач-куратор"), ("en", "Curator")):
        for number, doctor in (("ONDL-500001", "Смирнова"), ("DMS-K-2026-0001", "Орлов")):
            text = policies[(language, number)]
            assert text.count(label) == 1 and doctor in text, text


async def test_the_consent_texts_go_out_as_pdf_with_captions(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for language in ("ru", "en"):
        if language == "en":
            await chat.send("/language")
            await chat.tap("🇬🇧 English")
        documents = []
        for button in {
            "ru": [
                "Пользовательское соглашение",
                "Политика обработки персональных данных",
                "Обработка сведений о здоровье",
            ],
            "en": ["User agreement", "Personal data policy", "Health data processing"],
        }[language]:
            await chat.send({"ru": "📄 Документы", "en": "📄 Documents"}[language])
            await chat.tap(button)
            documents += sent_documents(chat)
        assert [d.filename for d in documents] == [
            f"user_agreement_{language}.pdf",
            f"personal_data_policy_{language}.pdf",
            f"health_data_consent_{language}.pdf",
        ]
        for document in documents:
            name = document.filename.removesuffix(f"_{language}.pdf")
            text = (LOCALES_DIR / language / "documents" / f"{name}.txt").read_text("utf-8")
            assert_clean(document, f"{text}\n{InsurerBranding().name} · 1 2 3")
            first_point = next(line for line in text.splitlines() if line.startswith("1."))
            assert first_point.split()[1] in pdf_text(document.content)
        assert (
            documents[0].caption
            == {
                "ru": "📄 Пользовательское соглашение",
                "en": "📄 User agreement",
            }[language]
        )


def test_the_curator_label_is_taken_out_of_the_data() -> None:
    assert without_label("Врач-куратор: доктор Смирнова Е. В., +7 495 100-00-10") == (
        "доктор Смирнова Е. В., +7 495 100-00-10"
    )
    assert without_label("Врач-куратор договора: доктор Орлов А. П.") == "доктор Орлов А. П."
    assert without_label("Curator: Dr Orlov") == "Dr Orlov"
    assert without_label("доктор Смирнова Е. В., +7 495 100-00-10") == (
        "доктор Смирнова Е. В., +7 495 100-00-10"
    )


async def test_the_full_texts_at_registration_are_three_pdfs(
    chat: ChatClient, mailbox: RecordingMailer
) -> None:
    await register_until_consents(chat, mailbox)
    await chat.tap("📄 Полные тексты")
    documents = sent_documents(chat)
    assert [(d.filename, d.caption) for d in documents] == [
        ("personal_data_policy_ru.pdf", "📄 Политика обработки персональных данных"),
        ("health_data_consent_ru.pdf", "📄 Обработка сведений о здоровье"),
        ("user_agreement_ru.pdf", "📄 Пользовательское соглашение"),
    ]
    for document in documents:
        name = document.filename.removesuffix("_ru.pdf")
        text = (LOCALES_DIR / "ru" / "documents" / f"{name}.txt").read_text("utf-8")
        assert_clean(document, f"{text}\n{InsurerBranding().name} · 1 2 3")
    assert "СОГЛАСИЕ НА ОБРАБОТКУ" in pdf_text(documents[1].content)


def test_the_pdf_and_picture_libraries_load_only_when_needed() -> None:
    """Start-up stays light: fpdf2, pyphen and Pillow load with the first document or photo.

    The bot's handlers reach documents through these modules only (aiogram is left out of the
    probe: it is slow to import and loads none of them).
    """
    probe = (
        "import sys, core.documents.service, core.documents.compose, sandbox.app\n"
        "print(sorted(m for m in ('fpdf', 'pyphen', 'PIL') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.strip() == "[]"
