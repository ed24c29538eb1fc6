"""Debian's Firefox ESR driven over WebDriver BiDi, the W3C protocol built into Firefox.

No library can drive it here: Playwright's Firefox is a patched build it downloads (and its
``moz-firefox`` channel for stock Firefox needs BiDi commands newer than this ESR), and
Selenium needs geckodriver, which Debian does not package. BiDi itself is small: JSON commands
over one WebSocket. This client knows the handful a page test needs: navigate, evaluate a
script, take a screenshot, and collect the page's console errors.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Final

import aiohttp

FIREFOX: Final = Path("/usr/bin/firefox-esr")
_LISTENING: Final = re.compile(r"WebDriver BiDi listening on (ws://\S+)")
_START_TIMEOUT: Final = 30.0


class BidiError(RuntimeError):
    """Firefox refused a command, or a script threw."""


class FirefoxPage:
    """One tab of a headless Firefox, driven by BiDi commands (see the module docstring)."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())
        self.context = ""
        self.console_problems: list[str] = []

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result."""
        command_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = answer
        await self._socket.send_str(
            json.dumps({"id": command_id, "method": method, "params": params})
        )
        result: dict[str, Any] = await answer
        return result

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = await self.command(
            "script.evaluate",
            expression=expression,
            target={"context": self.context},
            awaitPromise=True,
            resultOwnership="none",
        )
        if result.get("type") == "exception":
            details = result["exceptionDetails"]
            raise BidiError(f"{details.get('text')} in: {expression}")
        return _plain(result["result"])

    async def wait_for(self, condition: str, *, timeout: float = 15.0, what: str = "") -> None:
        """Until the JavaScript `condition` is true."""
        try:
            async with asyncio.timeout(timeout):
                # Polling, as Playwright's own waits do: the condition lives in the page.
                while not await self.evaluate(f"Boolean({condition})"):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"not within {timeout:g} s: {what or condition}") from None

    async def navigate(self, url: str) -> None:
        await self.command(
            "browsingContext.navigate", context=self.context, url=url, wait="complete"
        )

    async def screenshot(self, path: Path) -> None:
        shot = await self.command("browsingContext.captureScreenshot", context=self.context)
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))

    async def _read(self) -> None:
        async for frame in self._socket:
            if frame.type is not aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            if message.get("type") == "event":
                self._note_event(message)
                continue
            answer = self._waiting.pop(message.get("id"), None)
            if answer is None or answer.done():
                continue
            if message.get("type") == "error":
                answer.set_exception(BidiError(f"{message['error']}: {message.get('message')}"))
            else:
                answer.set_result(message["result"])
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(BidiError("Firefox closed the connection"))

    def _note_event(self, message: dict[str, Any]) -> None:
        entry = message.get("params", {})
        if message.get("method") == "log.entryAdded" and entry.get("level") in {"error", "warn"}:
            self.console_problems.append(f"{entry.get('level')}: {entry.get('text')}")


@asynccontextmanager
async def firefox_page(profile: Path, *, width: int, height: int) -> AsyncIterator[FirefoxPage]:
    """A fresh headless Firefox with one tab of the given size; closed when the block exits."""
    await asyncio.to_thread(profile.mkdir, parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        str(FIREFOX),
        "--headless",
        "--no-remote",
        "--remote-debugging-port=0",
        "--profile",
        str(profile),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    drain: asyncio.Task[None] | None = None
    try:
        url = await asyncio.wait_for(_listening_url(process.stderr), _START_TIMEOUT)
        drain = asyncio.create_task(_discard(process.stderr))
        async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}/session") as socket:
            page = FirefoxPage(socket)
            await page.command("session.new", capabilities={})
            await page.command("session.subscribe", events=["log.entryAdded"])
            tree = await page.command("browsingContext.getTree")
            page.context = tree["contexts"][0]["context"]
            await page.command(
                "browsingContext.setViewport",
                context=page.context,
                viewport={"width": width, "height": height},
            )
            try:
                yield page
            finally:
                with suppress(BidiError, aiohttp.ClientError):
                    await asyncio.wait_for(page.command("browser.close"), 5)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if drain is not None:
            drain.cancel()


async def _listening_url(stderr: asyncio.StreamReader) -> str:
    while line := await stderr.readline():
        if match := _LISTENING.search(line.decode(errors="replace")):
            return match.group(1)
    raise BidiError("Firefox exited before listening for WebDriver BiDi")


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


def _plain(value: dict[str, Any]) -> Any:
    """A BiDi remote value as a Python value (primitives, arrays and plain objects)."""
    kind = value.get("type")
    if kind in {"undefined", "null"}:
        return None
    if kind == "array":
        return [_plain(item) for item in value.get("value", [])]
    if kind == "object":
        return {key: _plain(item) for key, item in value.get("value", [])}
    return value.get("value")
