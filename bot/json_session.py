"""Bot API calls as one JSON body (issue 19).

aiogram's `AiohttpSession` sends every call as a form: each parameter serialised on its own
(the nested ones, a keyboard, as JSON strings inside the form), then the whole form URL-encoded,
character by character in Python. That was about 4 % of a webhook worker's CPU. The Bot API
takes `application/json` as well; a call without files is sent so, with the same parameters
the form would carry (aiogram's own `prepare_value`, the bot's defaults applied, the empty
ones left out). A call with files (a PDF, a photo) is still sent as aiogram sends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import InputFile

JSON = {"Content-Type": "application/json"}


class JsonSession(AiohttpSession):
    def build_json(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any] | None:
        """The call's parameters as a JSON object; None when it sends files."""
        files: dict[str, InputFile] = {}
        payload: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what the form leaves out
                continue
            payload[key] = prepared
        return None if files else payload

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        payload = self.build_json(bot, method)
        if payload is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=self.json_dumps(payload),
                headers=JSON,
                timeout=self.timeout if timeout is None else timeout,
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:  # as aiogram's own session reports them
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)
