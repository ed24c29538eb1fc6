"""Baselines the benchmarks measure in the same run, each as its own child process.

* ``python -m okdesk_bot.bench.baseline http PORT``: a bare aiohttp handler that reads the
  JSON body and answers 200 (the floor under the webhook endpoint);
* ``python -m okdesk_bot.bench.baseline bot PORT TELEGRAM_API_URL TOKEN``: an aiogram bot that
  answers every message with one line (the floor under the bot's handlers), plus the same
  HTTP handler on PORT, so the rig sees when it is up.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from aiohttp import web


async def _answer_ok(request: web.Request) -> web.Response:
    if request.can_read_body:
        await request.json()
    return web.json_response({"ok": True})


async def _serve_http(port: int) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _answer_ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _echo_bot(api_url: str, token: str) -> None:
    from aiogram import Bot, Dispatcher  # noqa: PLC0415 - only the bot baseline needs it
    from aiogram.client.session.aiohttp import AiohttpSession  # noqa: PLC0415
    from aiogram.client.telegram import TelegramAPIServer  # noqa: PLC0415
    from aiogram.types import Message  # noqa: PLC0415

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer("ok")

    await dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)


async def _run(argv: Sequence[str]) -> None:
    mode, port = argv[0], int(argv[1])
    runner = await _serve_http(port)
    try:
        if mode == "bot":
            await _echo_bot(argv[2], argv[3])
        else:
            await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str]) -> int:
    """Serve until SIGTERM/SIGINT."""
    import signal  # noqa: PLC0415 - only the child needs it

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(_run(argv))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
