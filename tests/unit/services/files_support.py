"""A `FileSource` for the use cases' tests, standing in for Telegram."""

from __future__ import annotations

from collections.abc import Mapping

from okdesk_bot.services.files import FileTooLargeError, FileUnavailableError


class FakeFiles:
    """Serves the given files; any other is one Telegram refuses as too big.

    `broken` makes every fetch fail as Telegram being down; `fetched` lists what was asked for.
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)
        self.broken = False
        self.fetched: list[str] = []

    async def fetch(self, file_id: str) -> bytes:
        self.fetched.append(file_id)
        if self.broken:
            raise FileUnavailableError
        if file_id not in self.files:
            raise FileTooLargeError
        return self.files[file_id]
