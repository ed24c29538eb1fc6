"""The sandbox running in the test's event loop, on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from okdesk_bot.sandbox import Sandbox, open_sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """`okdesk-bot sandbox` as it runs for a person, its page on a port the OS chose."""
    async with open_sandbox(port=0) as running:
        yield running
