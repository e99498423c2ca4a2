"""Appeals as a person and an operator would use them: a callback request and a complaint with
a photo, step by step with bad input; the receipt; the desk topic; the operator's answer
delivered; a follow-up; closing with a rating; an insured-event case; access."""

from __future__ import annotations

import re
from datetime import timedelta

from aiogram import Bot, Dispatcher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account
from core.appeals.models import Appeal, AppealKind, AppealMessage, AppealStatus
from core.clock import FrozenClock
from core.notifications.delivery import deliver
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT, seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.files import HTML, JPEG
from tests.test_dialog_policies import add_by_number, child_policy_left_halfway


async def delivered(
    sessions: async_sessionmaker[AsyncSession], bot: Bot, clock: FrozenClock
) -> list[str]:
    texts: list[str] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        texts.append(text)
        await bot.send_message(chat_id, text)

    await deliver(sessions, send, clock.now())
    return texts


async def test_a_callback_request_with_the_registered_phone_reaches_the_desk_and_is_answered(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    mailbox: RecordingMailer,
) -> None:
    await chat.send("💬 Обращения")
    assert "У вас пока нет обращений" in chat.text
    await chat.tap("➕ Новое обращение")
    await chat.tap("Перезвоните мне")
    assert "Номер телефона для звонка" in chat.text
    await chat.send("12345")
    assert chat.text == "Это не похоже на номер телефона. Пример: +7 916 123-45-67."
    await chat.tap("+7 916 123-45-67")
    await chat.tap("12:00–15:00")
    await chat.send("Вопрос по франшизе")
    assert "Телефон: +7 916 123-45-67" in chat.text and "Время: 12:00–15:00" in chat.text
    await chat.tap("✅ Отправить")
    assert "Обращение <b>О-26-000001</b> получено 21.11.2026 в 12:00 (по Москве)" in chat.text
    [sent_form] = chat.sent("editMessageReplyMarkup")  # the form gives up its Send and Cancel
    assert sent_form.reply_markup is None  # type: ignore[attr-defined]
    [topic] = chat.sent("createForumTopic")
    assert topic.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    card = next(
        c
        for c in chat.calls
        if getattr(c, "chat_id", None) == OPERATORS_CHAT and c.__api_method__ == "sendMessage"
    )
    assert "Перезвоните мне О-26-000001" in card.text and "От: Анна И." in card.text  # type: ignore[attr-defined]
    assert "4506" not in card.text, "no passport on the desk"  # type: ignore[attr-defined]
    assert card.text.count("Вопрос по франшизе") == 1, "the topic is not repeated"  # type: ignore[attr-defined]
    [letter] = [m for m in mailbox.letters if m[0] == "anna@example.org"]
    assert "О-26-000001" in letter[1]
    for line in (
        "Номер: О-26-000001",
        "Вид: Перезвоните мне",
        "Дата: 21.11.2026 12:00 (по Москве)",
        "Вопрос по франшизе",
        "https://t.me/test_bot?start=appeal_1",
    ):
        assert line in letter[2]
    await chat.send("/start appeal_1")  # the letter's link back to the chat
    assert "Перезвоните мне О-26-000001" in chat.text and "Статус: получено" in chat.text

    stranger = ChatClient(dp, bot, user_id=5555, first_name="Гость", group_id=OPERATORS_CHAT)
    thread = card.message_thread_id  # type: ignore[attr-defined]
    await stranger.send_in_topic("я не оператор", thread)
    assert stranger.calls == []
    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    await operator.tap("🙋 Взять")
    assert "Ольга взял(а) обращение" in operator.text
    [taken] = await delivered(sessions, bot, clock)
    assert "Ваше обращение О-26-000001 взято в работу. Оператор Ольга ответит здесь" in taken
    await operator.tap("🙋 Взять")  # a second tap tells nobody again
    assert await delivered(sessions, bot, clock) == []
    await operator.send_in_topic("Перезвоним сегодня в 13:00.", thread)
    assert "Ответ поставлен в очередь" in operator.text
    [answer] = await delivered(sessions, bot, clock)
    assert (
        "Оператор Ольга отвечает на обращение О-26-000001:\nПерезвоним сегодня в 13:00." in answer
    )

    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Перезвоните мне · есть ответ")
    assert "Перезвоним сегодня в 13:00." in chat.text and "<i>Оператор Ольга," in chat.text
    await chat.tap("✍️ Добавить сообщение")
    await chat.send("Лучше в 14:00")
    assert "Добавлено в обращение О-26-000001" in chat.text
    assert any("Человек пишет:\nЛучше в 14:00" in str(getattr(c, "text", "")) for c in chat.calls)
    assert chat.inline_buttons == ["💬 Открыть обращение"]  # the way back (a walker's find)
    await chat.tap("💬 Открыть обращение")
    assert "Лучше в 14:00" in chat.text and "✍️ Добавить сообщение" in chat.inline_buttons
    await chat.tap("✍️ Добавить сообщение")
    await chat.send("📋 Мои полисы")  # left: nothing was typed, no draft to promise
    assert "Сообщение к обращению не отправлено." in chat.text, chat.text
    assert "Черновик" not in chat.text
    await chat.send("/appeals")
    await chat.tap("О-26-000001 · Перезвоните мне · в работе")
    await chat.tap("✅ Закрыть обращение")
    await chat.tap("⭐⭐⭐⭐⭐")
    assert "Обращение О-26-000001 закрыто" in chat.text
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.status == AppealStatus.CLOSED and appeal.rating == 5
    assert appeal.fields == {
        "phone": "+79161234567",
        "window": "12-15",
        "topic": "Вопрос по франшизе",
    }


async def test_a_complaint_step_by_step_with_bad_input_and_a_photo(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Жалоба")
    await chat.send("текстом")
    assert "выберите кнопкой" in chat.text
    await chat.tap("ONDL-500001 · Анна")
    await chat.send("ох")
    assert "чуть подробнее" in chat.text
    await chat.send_sticker()
    assert "отправьте текстом" in chat.text
    await chat.send("В клинике отказали в приёме без объяснения причин.")
    await chat.send_sticker()
    assert "отправьте фото или PDF" in chat.text
    await chat.upload("photo.jpg", JPEG, photo=True)
    assert "Приложено: 1" in chat.text
    await chat.tap("Готово")
    assert "Полис: ONDL-500001" in chat.text and "Файлы: 1" in chat.text
    await chat.tap("✅ Отправить")
    assert "получено" in chat.text
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
        message = await session.scalar(select(AppealMessage))
    assert appeal is not None and appeal.kind == AppealKind.COMPLAINT and appeal.policy_id
    [photo] = chat.sent("sendPhoto")  # into the operators' topic, saying whose file it is
    assert photo.caption == f"📎 {appeal.number}: файл из обращения"  # type: ignore[attr-defined]
    assert message is not None and len(message.files) == 1
    assert message.text == "В клинике отказали в приёме без объяснения причин."


async def test_where_the_person_is_may_be_a_shared_location_and_other_steps_keep_their_place(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Медицинская помощь")
    await chat.tap("ONDL-500001 · Анна")
    assert "Где вы находитесь (город, адрес)?" in chat.text
    assert "Или отправьте геопозицию через меню вложений" in chat.text
    await chat.share_location(55.75583, 37.61731)  # the answer, not «📍 Nearest clinics»
    assert "Что случилось и какая помощь нужна?" in chat.text
    await chat.share_location(55.75583, 37.61731)  # not an answer here: the step stays
    assert chat.texts == ["Пожалуйста, отправьте текстом."], chat.texts
    await chat.send("Высокая температура, нужен врач на дом.")
    await chat.tap(chat.inline_buttons[0])  # the phone: the registered one
    assert "📍 геопозиция 55.75583, 37.61731" in chat.text
    await chat.tap("✅ Отправить")
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
    assert appeal is not None and appeal.fields["place"] == "📍 геопозиция 55.75583, 37.61731"


async def test_an_appeal_with_a_file_attached_can_still_be_cancelled(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Жалоба")
    await chat.tap("ONDL-500001 · Анна")
    await chat.send("В клинике отказали в приёме без объяснения причин.")
    await chat.upload("photo.jpg", JPEG, photo=True)
    await chat.tap("✖️ Отмена")  # on «Приложено: 1», the latest message
    assert "Обращение не отправлено" in chat.text
    async with sessions() as session:
        assert await session.scalar(select(Appeal)) is None


async def test_attachments_are_taken_by_their_bytes_and_posted_under_our_names(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Жалоба")
    await chat.tap("ONDL-500001 · Анна")
    await chat.send("В клинике отказали в приёме без объяснения причин.")
    await chat.upload("invoice.pdf", HTML, mime_type="application/pdf")
    assert "Это не фото и не скан" in chat.text
    await chat.upload("IMG_0001.jpg", JPEG, mime_type="application/octet-stream")
    assert "Приложено: 1" in chat.text
    assert chat.inline_buttons == ["Готово", "✖️ Отмена"]  # the way out is on the latest message
    await chat.tap("Готово")
    await chat.tap("✅ Отправить")
    [document] = [c for c in chat.sent("sendDocument") if c.chat_id == OPERATORS_CHAT]  # type: ignore[attr-defined]
    assert re.fullmatch(r"appeal-[0-9a-f]{12}\.jpg", document.document.filename)  # type: ignore[attr-defined]
    assert document.document.data == JPEG  # type: ignore[attr-defined]
    async with sessions() as session:
        message = await session.scalar(select(AppealMessage))
    assert message is not None and message.files[0]["name"] == document.document.filename  # type: ignore[attr-defined]


async def test_an_insured_event_case_on_the_travel_policy(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    assert "пока нет полисов" in chat.text and "➕ Добавить полис" in chat.inline_buttons
    await add_by_number(chat, "VZR-2026-000123")
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("VZR-2026-000123 · Анна")
    await chat.send("31.02.2026")
    assert chat.text == "Такого дня нет в календаре. Проверьте, пожалуйста, день и месяц."
    await chat.send("30.12.2026")
    assert "ещё не наступила" in chat.text
    await chat.send("20.11.2026")  # the policy is unpaid and valid from 20.12.2026
    assert "Случай не может быть заявлен" in chat.text and "не оплачен" in chat.text
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    assert "Вы ещё не заявляли о страховых случаях" in chat.text


async def test_another_persons_appeal_no_longer_works_and_desk_commands_need_the_group(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Благодарность")
    await chat.send("Спасибо врачу Орловой за внимание!")
    await chat.tap("✅ Отправить")
    other = ChatClient(dp, bot, user_id=4242, first_name="Пётр")
    await other.callback("al:open:1:0:0")
    assert "кнопка больше не действует" in other.text
    operator_in_private = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга")
    await operator_in_private.send("/open")
    assert "Открытые обращения" not in operator_in_private.text
    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    clock.advance(timedelta(hours=3, minutes=10))
    await operator.send("/open")
    assert (
        '🆕 <a href="https://t.me/c/1000000001/' in operator.text
        and "</a> · Благодарность · 21.11.2026 12:00 · 3 часа в очереди" in operator.text
    )
    await operator.send("/stats")
    assert "Открыто: 1" in operator.text and "Без ответа: 1" in operator.text
    await operator.send("/appeal о-26-000001")
    assert "Спасибо врачу Орловой" in operator.text


async def test_a_choice_tapped_higher_up_at_the_summary_leaves_the_form_open(
    chat: ChatClient, registered: Account
) -> None:
    """A button of a question answered already, tapped once the form waits at its summary, was
    met with «This form is closed» (and the message turned into that), although «✅ Send» on
    the summary still worked (a walker's find). It is a stale button: the form stays."""
    await callback_request_to_its_summary(chat)
    assert "проверьте и отправьте" in chat.text
    await chat.tap("15:00–18:00")  # the time question's buttons, higher up
    assert "Эта кнопка больше не действует" in chat.text
    # Not «open /menu»: that would lead away from the form, which waits below.
    assert "Продолжите, пожалуйста, с последнего сообщения ниже" in chat.text
    assert "закрыта" not in chat.text and chat.sent("editMessageText") == []
    await chat.tap("✅ Отправить")
    assert "Обращение <b>О-26-000001</b> получено" in chat.text


async def test_a_summarys_send_after_a_new_form_was_begun_higher_up_files_nothing(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A kind tapped on the menu higher up begins a new form (once the person chose to discard
    the draft); «✅ Send» on the old summary then filed that new, empty form: an appeal without
    the phone, the time or the topic the summary showed (a walker's find). It is stale now, and
    so is the old summary's «✖️ Cancel»: it no longer discards the new form."""
    await chat.send("💬 Обращения")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Перезвоните мне")
    await chat.tap("+7 916 123-45-67")
    await chat.tap("18:00–21:00")
    await chat.send("Тема А: стоматология")
    assert "проверьте и отправьте" in chat.text
    await chat.tap("Перезвоните мне")  # the kinds' menu, higher up
    await chat.tap("🗑 Удалить его и начать: Перезвоните мне")
    assert "Номер телефона для звонка" in chat.text
    await tap_in(chat, "проверьте и отправьте", "✅ Отправить")  # the old summary's
    assert "Эта кнопка больше не действует" in chat.text
    await tap_in(chat, "проверьте и отправьте", "✖️ Отмена")  # the old summary's
    assert "Эта кнопка больше не действует" in chat.text
    assert "удалено" not in chat.text
    await chat.tap("+7 916 123-45-67")  # the new form goes on
    assert "Когда удобно позвонить" in chat.text
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Appeal)) == 0


async def test_a_new_appeal_begun_higher_up_offers_the_draft_waiting_at_its_summary(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A kind tapped on a menu higher up silently replaced a draft waiting at its summary, and
    the draft was lost (a walker's find). Leaving a step keeps its draft (CONVERSATION.md, 1):
    the person is asked, and may continue it."""
    await callback_request_to_its_summary(chat)
    await chat.tap("Жалоба")  # the kinds' menu, higher up
    assert chat.text == (
        "У вас есть неотправленный черновик обращения: «Перезвоните мне». "
        "Продолжить его или удалить?"
    )
    assert chat.inline_buttons == [
        "✍️ Продолжить черновик: Перезвоните мне",
        "🗑 Удалить его и начать: Жалоба",
        "⬅️ Мои обращения",
        "🏠 Меню",
    ]
    await chat.tap("✍️ Продолжить черновик: Перезвоните мне")
    assert "проверьте и отправьте" in chat.text and "Вопрос по франшизе" in chat.text
    await chat.tap("✅ Отправить")
    assert "Обращение <b>О-26-000001</b> получено" in chat.text
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal))
        assert appeal is not None and appeal.kind == AppealKind.CALLBACK
        assert appeal.fields["topic"] == "Вопрос по франшизе"


async def test_cancel_of_an_earlier_question_answers_below_and_the_latest_edits_in_place(
    chat: ChatClient, registered: Account
) -> None:
    """«✖️ Cancel» under the form's first question, tapped when the form was two questions on,
    wrote «The appeal is discarded» into that old message, out of sight (a walker's find). It
    is answered below now; the latest question's Cancel still turns its own message into it."""
    await chat.send("💬 Обращения")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Перезвоните мне")
    await chat.tap("+7 916 123-45-67")
    assert "Когда удобно позвонить" in chat.text
    await tap_in(chat, "Номер телефона для звонка", "✖️ Отмена")
    assert chat.texts == ["Обращение не отправлено."]
    assert chat.sent("sendMessage") and not chat.sent("editMessageText")
    await chat.tap("Перезвоните мне")  # a new form (the kinds' menu, higher up), no draft now
    assert "Номер телефона для звонка" in chat.text
    await chat.tap("✖️ Отмена")  # the latest question's
    assert chat.texts == ["Обращение не отправлено."]
    assert chat.sent("editMessageText") and not chat.sent("sendMessage")


async def test_sending_an_appeal_keeps_a_childs_policy_draft_paused_before(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Sending (or discarding) an appeal cleared the whole dialog state: a child's policy form
    paused before it was lost. Only the appeal's own draft goes."""
    await child_policy_left_halfway(chat, sessions)
    await callback_request_to_its_summary(chat)  # «💬 Обращения» leaves the child's form
    await chat.tap("✅ Отправить")
    assert "получено" in chat.text
    await chat.send("📋 Мои полисы")
    await chat.tap("➕ Добавить полис")
    assert chat.inline_buttons[0] == "✍️ Продолжить: полис ребёнка ONDL-500002"


async def test_an_appeals_receipt_stays_when_its_my_appeals_button_opens_the_list(
    chat: ChatClient, registered: Account
) -> None:
    """The receipt (the appeal's number and time) was edited into the list by its own «💬 My
    appeals», while a booking's confirmation stays (a walker's find). A receipt is history."""
    await callback_request_to_its_summary(chat)
    await chat.tap("✅ Отправить")
    receipt = chat.text
    assert "Обращение <b>О-26-000001</b> получено" in receipt
    await chat.tap("💬 Мои обращения")
    assert chat.sent("sendMessage") and not chat.sent("editMessageText")
    assert chat.text == "<b>Мои обращения</b>"
    [listed] = [b for b in chat.inline_buttons if b.startswith("О-26-000001")]
    await chat.tap(listed)  # the list is a screen: the appeal replaces it
    assert chat.sent("editMessageText") and "О-26-000001" in chat.text


async def test_the_buttons_of_a_discarded_draft_and_of_its_question_leave_the_new_one_alone(
    chat: ChatClient, registered: Account
) -> None:
    """Once «🗑 Discard it and begin» replaced a draft, the old form's choices turned their
    message into «This form is closed, start a new one»; the question's «🗑» tapped again
    discarded the new draft, its text with it; its «✍️ Continue the draft: Call me back»
    opened the complaint (a walker's finds). Each is a stale button now, and the new draft
    stays as it was."""
    await callback_request_to_its_summary(chat)
    await chat.tap("Жалоба")  # the kinds' menu, higher up
    await chat.tap("🗑 Удалить его и начать: Жалоба")
    await chat.send("Врач опоздал на приём на 40 минут")
    assert "Приложите" in chat.text
    stale = "Эта кнопка больше не действует. Продолжите, пожалуйста, с последнего сообщения ниже."
    await chat.tap("18:00–21:00")  # the first form's time question
    assert chat.text == stale and not chat.sent("editMessageText")
    await tap_in(chat, "неотправленный черновик", "🗑 Удалить его и начать: Жалоба")
    assert chat.text == stale
    await tap_in(chat, "неотправленный черновик", "✍️ Продолжить черновик: Перезвоните мне")
    assert chat.text == stale
    await chat.send("/appeals")
    await chat.tap("✍️ Продолжить черновик: Жалоба")
    assert "Приложите" in chat.text
    await chat.tap("Готово")
    assert "проверьте и отправьте" in chat.text and "Врач опоздал на приём" in chat.text


async def test_cancel_in_an_appeal_keeps_a_childs_policy_draft_paused_before(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """/cancel (or the «✖️ Cancel» key) in an appeal form discarded every draft: a child's
    policy paused before it was lost with the appeal (a walker's find)."""
    await child_policy_left_halfway(chat, sessions)
    await chat.send("💬 Обращения")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Перезвоните мне")
    await chat.send("/cancel")
    assert "Действие отменено" in chat.text
    await chat.send("/appeals")
    assert "✍️ Продолжить черновик: Перезвоните мне" not in chat.inline_buttons
    await chat.send("📋 Мои полисы")
    await chat.tap("➕ Добавить полис")
    assert chat.inline_buttons[0] == "✍️ Продолжить: полис ребёнка ONDL-500002"


async def test_the_draft_question_of_an_appeal_begun_on_a_policy_card_leads_back_to_it(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """«Continue or discard?» asked on a policy card's «💬 Appeal» led back only to the appeals
    (a walker's find): its Back is the policy card, where the person was."""
    await seed_demo(sessions)
    await add_by_number(chat, "DMS-K-2026-0001")
    await callback_request_to_its_summary(chat)
    await chat.tap("💬 Обращение")  # the policy card's, higher up
    await chat.tap("Жалоба")
    assert "неотправленный черновик" in chat.text
    assert chat.inline_buttons[-2:] == ["⬅️ К полису", "🏠 Меню"]
    await chat.tap("⬅️ К полису")
    assert "DMS-K-2026-0001" in chat.text and "💬 Обращение" in chat.inline_buttons


async def test_a_callback_request_begun_on_a_policy_card_names_the_policy_before_and_at_the_desk(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A «Call me back» begun on a policy card carried the policy (the receipt and the e-mail
    named it), but the summary the person checked and the desk's card did not (a walker's
    find)."""
    await seed_demo(sessions)
    await add_by_number(chat, "DMS-K-2026-0001")
    await chat.tap("💬 Обращение")
    await chat.tap("Перезвоните мне")
    await chat.tap("+7 916 123-45-67")
    await chat.tap("12:00–15:00")
    await chat.send("Вопрос по полису")
    assert "Полис: DMS-K-2026-0001 (Анна Иванова)" in chat.text
    await chat.tap("✅ Отправить")
    cards = [
        str(c.text)  # type: ignore[attr-defined]
        for c in chat.calls
        if getattr(c, "chat_id", None) == OPERATORS_CHAT and c.__api_method__ == "sendMessage"
    ]
    assert any("Полис: DMS-K-2026-0001 (Анна Иванова)" in card for card in cards)


async def test_sending_from_an_older_summary_takes_the_buttons_off_the_newer_one(
    chat: ChatClient, registered: Account
) -> None:
    """«Continue the draft» showed the summary again; sending from the first one left the
    second with live-looking «Send» and «Cancel» (a walker's find). Both lose them."""
    await callback_request_to_its_summary(chat)
    await chat.send("💬 Обращения")
    await chat.tap("✍️ Продолжить черновик: Перезвоните мне")
    summaries = [c for c in chat.session.calls if "проверьте и отправьте" in str(c.text)]  # type: ignore[attr-defined]
    assert len(summaries) == 2
    markup = summaries[0].reply_markup  # type: ignore[attr-defined]
    send = next(b for row in markup.inline_keyboard for b in row if b.text == "✅ Отправить")
    await chat.callback(send.callback_data, summaries[0])
    assert "получено" in chat.text
    dropped = {c.message_id for c in chat.sent("editMessageReplyMarkup")}  # type: ignore[attr-defined]
    assert len(dropped) == 2, "the tapped summary and the newer one"


async def test_sending_from_the_newer_summary_takes_the_buttons_off_the_older_one(
    chat: ChatClient, registered: Account
) -> None:
    """The same the other way round (my own walk in the web chat): the first summary kept its
    «Send» and «Cancel» when the one shown by «Continue the draft» was sent."""
    await callback_request_to_its_summary(chat)
    await chat.send("💬 Обращения")
    await chat.tap("✍️ Продолжить черновик: Перезвоните мне")
    await chat.tap("✅ Отправить")  # the newer summary's
    assert "получено" in chat.text
    dropped = {c.message_id for c in chat.sent("editMessageReplyMarkup")}  # type: ignore[attr-defined]
    assert len(dropped) == 2, "the tapped summary and the older one"


async def tap_in(chat: ChatClient, containing: str, button: str) -> ChatClient:
    """Tap `button` on the latest message whose text has `containing` (an old one, higher up)."""
    for call in reversed(chat.session.calls):
        markup = getattr(call, "reply_markup", None)
        if containing in (getattr(call, "text", None) or "") and markup is not None:
            for row in markup.inline_keyboard:
                for candidate in row:
                    if candidate.text == button:
                        return await chat.callback(candidate.callback_data, call)
    raise AssertionError(f"no {button!r} on a message with {containing!r}")


async def callback_request_to_its_summary(chat: ChatClient) -> None:
    """Anna's «Call me back» form, filled in up to its summary (her number, 12–15, a topic)."""
    await chat.send("💬 Обращения")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Перезвоните мне")
    await chat.tap("+7 916 123-45-67")
    await chat.tap("12:00–15:00")
    await chat.send("Вопрос по франшизе")
