"""The Okdesk client against the Okdesk emulator, over real HTTP on 127.0.0.1."""

from collections.abc import AsyncIterator

import pytest

from okdesk_bot.emulators.okdesk import OkdeskEmulator
from okdesk_bot.okdesk import OkdeskClient

TOKEN = "test-okdesk-token"


@pytest.fixture
async def emulator() -> AsyncIterator[OkdeskEmulator]:
    emu = OkdeskEmulator(api_token=TOKEN)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def client(emulator: OkdeskEmulator) -> AsyncIterator[OkdeskClient]:
    async with OkdeskClient(
        emulator.api_url,
        TOKEN,
        timeout=5.0,
        max_retries=3,
        backoff_base=0.01,
        backoff_max=0.05,
    ) as okdesk:
        yield okdesk
