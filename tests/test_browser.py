"""The web chat and the bank's page in a real browser (Playwright driving Debian's chromium).

A person walks registration, two menu taps, the location keyboard button, a clinic venue, the
bank's page with a card and the 3-D Secure code, a deep link and a time-travel press, at 1280 px
and at 390 px; after each step the newest message must be inside the visible area. Screenshots go
to var/screenshots/ (see the README). Skipped, with the reason, when no browser can be had.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.clock import FrozenClock
from core.config import Settings
from core.mail import Mailer, SmtpConfig
from tests.live import PATIENCE, Live, live_system

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed (pip install -e .[test])"
)
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no browser: {CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)",
)
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
Page = Any  # playwright.async_api.Page


@pytest.fixture
async def live(
    settings: Settings, clock: FrozenClock, tmp_path: Path, database_url: str
) -> AsyncIterator[Live]:
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser walk runs once, on SQLite")
    async with live_system(settings, clock, tmp_path / "sandbox", payments=True) as system:
        system.sandbox.bank.shop_name = settings.insurer.name  # as main.py configures it
        yield system


NEWEST_IN_VIEW = """() => {
  const box = document.getElementById("messages");
  const all = box.querySelectorAll(".msg");
  if (!all.length) return "no messages";
  const last = all[all.length - 1].getBoundingClientRect();
  const view = box.getBoundingClientRect();
  const page = document.documentElement.clientHeight;
  if (view.bottom > page + 1) return `the feed ends at ${view.bottom}, below the window (${page})`;
  if (last.bottom > view.bottom + 1) return `the newest message ends ${last.bottom - view.bottom}px below the view`;
  if (last.bottom < view.top) return "the newest message is above the view";
  return "";
}"""
FITS_WIDTH = """() => {
  const width = document.documentElement.clientWidth;
  const parts = ["#reply-keyboard", "#composer", "#messages", "header"];
  for (const selector of parts) {
    const element = document.querySelector(selector);
    if (!element) continue;
    const right = Math.max(element.getBoundingClientRect().right,
      ...[...element.querySelectorAll("*")].map((e) => e.getBoundingClientRect().right));
    if (right > width + 1) return `${selector} runs ${right - width}px off the right edge`;
  }
  return "";
}"""


class Walk:
    def __init__(self, page: Page, live: Live, name: str) -> None:
        self.page, self.live, self.name = page, live, name
        self.shot = 0

    async def check(self, step: str) -> None:
        """The newest message is in view and nothing runs off the screen; a screenshot."""
        await self.page.wait_for_function(
            f"() => ({NEWEST_IN_VIEW})() === ''", timeout=PATIENCE * 1000
        )
        assert await self.page.evaluate(FITS_WIDTH) == "", step
        self.shot += 1
        path = SCREENSHOTS / f"{self.name}-{self.shot:02d}-{step}.png"
        await self.page.screenshot(path=str(path))

    async def bot_says(self, text: str | re.Pattern[str], within: float = PATIENCE) -> None:
        """A bot message with this text appears, and is the newest in the chat (in view)."""
        pattern = text if isinstance(text, re.Pattern) else re.compile(re.escape(text))
        try:
            await self.page.locator(".msg.bot .text", has_text=pattern).last.wait_for(
                timeout=within * 1000
            )
        except playwright_api.TimeoutError:
            await self.page.screenshot(path=str(SCREENSHOTS / f"{self.name}-failed.png"))
            raise

    async def answered(self, action: Awaitable[None]) -> None:
        """Do something and wait until the bot answers with a new message."""
        count = await self.page.locator(".msg.bot").count()
        await action
        await self.page.wait_for_function(
            f"() => document.querySelectorAll('.msg.bot').length > {count}"
        )

    async def key(self, text: str) -> None:
        await self.page.locator("#reply-keyboard button", has_text=text).click()

    async def type(self, text: str) -> None:
        await self.page.fill("#text", text)
        await self.page.press("#text", "Enter")

    async def tap(self, text: str) -> None:
        await self.page.locator(".msg .inline-kb button", has_text=text).last.click()


async def letter_code(live: Live, to: str) -> str:
    [letter] = await live.user(0).mail(to)
    found = re.search(r"\b\d{6}\b", letter["text"])
    assert found is not None
    return found.group()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["1280", "390"])
async def test_a_person_walks_the_web_chat_in_a_browser(
    live: Live, clock: FrozenClock, width: int, height: int
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = f"{width}px"
    for old in SCREENSHOTS.glob(f"{name}-*.png"):
        old.unlink()
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = await browser.new_context(
            viewport={"width": width, "height": height}, locale="ru-RU"
        )
        context.set_default_timeout(PATIENCE * 1000)  # the bank's page too
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        walk = Walk(page, live, name)
        await page.goto(live.url + "/")
        phone = width < 700
        if phone:  # the people are behind the menu button; the side panel does not squeeze the chat
            assert (
                await page.locator("#sidebar").evaluate("a => a.getBoundingClientRect().right") <= 0
            )
            await page.click("#menu-btn")
        await page.fill("#new-user input[name=first_name]", "Анна")
        await page.click("#new-user button")
        await walk.bot_says("Здравствуйте!")
        assert await page.get_attribute("#text", "placeholder") == "Выберите раздел"
        await walk.check("welcome")

        # Registration
        await walk.key("📝 Регистрация")
        await walk.bot_says("Шаг 1 из 8")
        await walk.check("step-1")
        await walk.key("📱 Поделиться номером")  # Telegram asks first; the page, not a prompt()
        await page.fill("#modal-input", "+7 916 123-45-67")
        await walk.check("share-phone")
        await page.click("#modal-ok")
        await walk.bot_says("Шаг 2 из 8")
        email = f"anna.{width}@example.org"
        await walk.type(email)
        await walk.bot_says("6-значный код")
        await walk.type(await letter_code(live, email))
        await walk.bot_says("Почта подтверждена")
        for answer in ("Иванова", "Анна", "Сергеевна", "15.01.1985"):
            await walk.answered(walk.type(answer))
            await walk.check(f"answered-{answer}")
        await walk.answered(walk.key("Женский"))
        await walk.answered(walk.key("Паспорт РФ"))
        await walk.type("4506 987654")
        await walk.bot_says("Согласия")
        await walk.tap("Продолжить ➡️")  # too early: the answer is a modal, not an alert()
        await page.locator("#modal", has_text="три согласия").wait_for()
        await walk.check("consents-modal")
        await page.click("#modal-ok")
        for title in (
            "☐ Обработка персональных данных",
            "☐ Обработка сведений о здоровье",
            "☐ Пользовательское соглашение",
        ):
            await walk.tap(title)
            await page.locator(".msg .inline-kb button", has_text=title).wait_for(state="detached")
        assert await page.locator(".msg.bot .meta", has_text="изменено").count() == 0
        await walk.tap("Продолжить ➡️")
        await walk.tap("✅ Подтвердить")
        await walk.bot_says("Регистрация завершена")
        await walk.check("registered")

        # Two menu taps
        await walk.key("☎️ Контакты")
        await walk.bot_says(re.compile("8 800"))
        await walk.check("contacts")
        await walk.key("📄 Документы")
        await walk.bot_says(re.compile("документ", re.IGNORECASE))
        await walk.check("documents")

        # The reply keyboard's location button opens the picker; a clinic's venue shows a map.
        await walk.key("📍 Ближайшие клиники")
        await page.locator("#popup").wait_for(state="visible")
        await page.wait_for_timeout(0)
        assert await page.locator("#popup").is_visible(), "the picker stays open"
        await walk.check("location-picker")
        await page.locator("#popup button", has_text="Москва, Красная площадь").click()
        await walk.tap("Клиника «Здоровье на Тверской»")
        venue = page.locator(".msg.bot .place", has_text="Здоровье на Тверской").last
        await venue.wait_for()
        await walk.check("venue")
        osm = await venue.locator("a", has_text="OpenStreetMap").get_attribute("href")
        assert osm is not None and "openstreetmap.org" in osm and "55.765" in osm
        assert await venue.locator(".map .pin").is_visible()

        # The bank's page: a policy with the franchise, the card and the 3-D Secure code.
        await walk.type("/policies")
        await walk.tap("➕ Добавить полис")
        await walk.tap("По номеру полиса")
        await walk.type("ONDL-500001")
        await walk.bot_says("франшиза не активирована")
        await walk.tap("💳 Франшиза и карты")
        await walk.tap("✅ Активировать программу с франшизой")
        await walk.tap("Даю согласие на автоматические списания")
        await walk.bot_says("страницу банка")
        await walk.check("bank-link")
        async with context.expect_page() as opened:
            await walk.tap("💳 Привязать карту")
        bank = await opened.value
        await bank.wait_for_load_state()
        assert await bank.inner_text(".shop") == "Демо Страхование"
        binding = bank.locator(".binding")
        assert "проверочный платёж 10,00\xa0₽, он сразу возвращается" in (
            await binding.inner_text()
        )
        assert await bank.locator("button", has_text="Привязать карту").is_visible()
        await bank.screenshot(path=str(SCREENSHOTS / f"{name}-bank-card.png"), full_page=True)
        await bank.fill("input[name=number]", "5555 5555 5555 4478")  # a typo
        await bank.fill("input[name=expiry]", "12/30")
        await bank.fill("input[name=cvc]", "123")
        await bank.click("button")
        assert await bank.input_value("input[name=number]") == "5555 5555 5555 4478"
        await bank.fill("input[name=number]", "5555 5555 5555 4477")
        await bank.fill("input[name=expiry]", "12/30")
        await bank.fill("input[name=cvc]", "123")
        await bank.click("button")
        await bank.fill("input[name=code]", "123456")
        await bank.screenshot(path=str(SCREENSHOTS / f"{name}-bank-3ds.png"), full_page=True)
        await bank.click("button")
        await bank.locator(".outcome.ok").wait_for()
        await bank.screenshot(path=str(SCREENSHOTS / f"{name}-bank-done.png"), full_page=True)
        await bank.close()
        await walk.bot_says("Карта •••• 4477 привязана")
        await walk.check("card-linked")

        # A deep link in a message sends /start PAYLOAD as this person.
        user_id = int(await page.evaluate("() => state.chat"))
        await live.bot.send_message(
            user_id,
            'Откройте <a href="https://t.me/dms_cabinet_bot?start=policy_1">полис</a>',
            parse_mode="HTML",
        )
        await page.locator(".msg.bot a", has_text="полис").last.click()
        await page.locator(".msg.user .text", has_text="/start policy_1").wait_for()
        await walk.bot_says("Застрахованный: Иванова Анна Сергеевна")  # the policy's card
        await walk.check("deep-link")

        # Time travel: the next day the franchise is active; the times move with the clock.
        before = await page.inner_text("#clock-now")
        if phone:
            await page.click("#menu-btn")
            await page.wait_for_function(  # the menu has slid in
                "() => document.getElementById('sidebar').getBoundingClientRect().left >= 0"
            )
            await page.screenshot(path=str(SCREENSHOTS / f"{name}-menu.png"))
        await page.click("#clock-panel button[data-step='1d']")
        if phone:  # the menu closes with a tap beside it
            await page.click("#backdrop", position={"x": width - 20, "y": height // 2})
            await page.locator("#backdrop").wait_for(state="hidden")
        await walk.bot_says("Регион обслуживания ещё не выбран")  # active, regions to choose
        # The messages time travel brings may come before the page has the clock's answer (a
        # loaded machine shows it): the day labels are drawn again once it has, and the button
        # is enabled again then.
        await page.wait_for_function(
            "() => !document.querySelector(\"#clock-panel button[data-step='1d']\").disabled"
        )
        await walk.check("time-travel")
        assert await page.inner_text("#clock-now") != before
        days = await page.locator(".day").all_inner_texts()
        assert days == ["21 ноября", "Сегодня"], days
        moscow = (clock.now().hour + 3) % 24
        last_time = await page.locator(".msg.bot .meta time").last.inner_text()
        assert last_time.startswith(f"{moscow:02d}:"), (last_time, clock.now())

        # Scrolled up on purpose: a new message shows the badge instead of jumping.
        await page.evaluate(
            "() => { const b = document.getElementById('messages'); b.scrollTop = 0; }"
        )
        await page.wait_for_function("() => !state.stick")
        await live.bot.send_message(user_id, "Новое сообщение")
        await page.locator("#new-badge").wait_for(state="visible")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-badge-shown.png"))
        await page.click("#new-badge")
        await walk.check("badge")

        assert errors == [], errors
        await context.close()
        await browser.close()


async def test_a_letters_deep_link_opens_in_the_web_chat_and_answers_are_toasts(
    live: Live,
) -> None:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(PATIENCE * 1000)
        chat = await context.new_page()
        await chat.goto(live.url + "/")
        await chat.fill("#new-user input[name=first_name]", "Анна")
        await chat.click("#new-user button")
        await chat.locator(".msg.bot").first.wait_for()
        mailer = Mailer(
            SmtpConfig(host="127.0.0.1", port=live.sandbox.config.smtp_port, sender="c@example.org")
        )
        await mailer.send(
            "anna@example.org", "Ссылка", "Продолжите: https://t.me/dms_cabinet_bot?start=register"
        )
        mail = await context.new_page()
        await mail.goto(live.url + "/sandbox/mail")
        letter_time = await mail.locator("article time").first.inner_text()
        assert letter_time.endswith("МСК")
        await mail.bring_to_front()
        await chat.evaluate("() => window.dispatchEvent(new Event('focus'))")
        await mail.locator("article a", has_text="start=register").click()
        await chat.locator(".msg.user .text", has_text="/start register").wait_for()

        await chat.bring_to_front()
        user_id = int(await chat.evaluate("() => state.chat"))
        button = InlineKeyboardButton(text="Долг", url="https://t.me/dms_cabinet_bot?start=debt")
        await live.bot.send_message(
            user_id, "Оплатите", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
        )
        await chat.locator(".msg .inline-kb button", has_text="Долг").click()
        await chat.locator(".msg.user .text", has_text="/start debt").wait_for()
        assert len(context.pages) == 2, "a deep link opens no other tab"

        shown = await chat.inner_text("#clock-now")
        await chat.wait_for_function(  # the clock panel ticks
            f"() => document.getElementById('clock-now').textContent !== {shown!r}"
        )
        await chat.fill("#text", "/language")
        await chat.press("#text", "Enter")
        await chat.locator(".msg .inline-kb button", has_text="English").last.click()
        await chat.locator("#toast", has_text="Language changed.").wait_for()
        assert await chat.locator("#modal").is_hidden()

        # No web chat tab open: the mailbox opens one, which sends the /start for the same person.
        await chat.close()
        async with context.expect_page() as opened:
            await mail.locator("article a", has_text="start=register").click()
        again = await opened.value
        sent = again.locator(".msg.user .text", has_text="/start register")
        await sent.nth(1).wait_for()
        assert "start=" not in again.url
        await context.close()
        await browser.close()
