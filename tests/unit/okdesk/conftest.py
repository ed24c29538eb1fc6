"""A scripted Okdesk stand-in on 127.0.0.1 for the client's wire-level tests.

Each test queues the answers a route gives (the last one repeats) and then inspects the
requests the client actually sent, as aiohttp parsed them from the socket.
"""

import asyncio
import json
import socket
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

import pytest
from aiohttp import web
from multidict import MultiDict

from okdesk_bot.okdesk import OkdeskClient

TOKEN = "tok-4f9c2d7e-SECRET"


def unused_port() -> int:
    """A local port nobody listens on (bound by the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: object = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class FormFile:
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Recorded:
    """A request as the server received it."""

    method: str
    path: str
    raw_query: str
    query: MultiDict[str]
    headers: dict[str, str]
    body: bytes
    form: MultiDict[str | FormFile]

    def json(self) -> object:
        return json.loads(self.body)


class ScriptedOkdesk:
    """Records requests and answers from per-route scripts; unscripted routes give 404."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[tuple[str, str], deque[Reply]] = {}
        self.base_url = ""

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Script the API route ``/api/v1/<path>``."""
        self.script_absolute(method, f"/api/v1/{path}", *replies)

    def script_absolute(self, method: str, path: str, *replies: Reply) -> None:
        """Script a route outside the API, such as a file download."""
        self._scripts[(method, path)] = deque(replies)

    def sent(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == f"/api/v1/{path}"]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = b""
        form: MultiDict[str | FormFile] = MultiDict()
        if request.content_type == "multipart/form-data":
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    form.add(name, FormFile(value.filename, value.file.read(), value.content_type))
                else:
                    form.add(name, str(value))
        else:
            body = await request.read()
        self.requests.append(
            Recorded(
                method=request.method,
                path=request.path,
                raw_query=request.raw_path.partition("?")[2],
                query=MultiDict(request.query),
                headers=dict(request.headers),
                body=body,
                form=form,
            )
        )
        script = self._scripts.get((request.method, request.path))
        if not script:
            return web.json_response({"errors": "Not found"}, status=404)
        reply = script.popleft() if len(script) > 1 else script[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.text is not None:
            return web.Response(status=reply.status, text=reply.text, headers=reply.headers)
        if reply.body is None:
            return web.Response(status=reply.status, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)


@pytest.fixture
async def okdesk() -> AsyncIterator[ScriptedOkdesk]:
    scripted = ScriptedOkdesk()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    # No access log: it is the server's record of the token it received, not the client's.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    scripted.base_url = f"http://{host}:{port}"
    yield scripted
    await runner.cleanup()


class ClientFactory(Protocol):
    def __call__(
        self,
        *,
        base_url: str | None = None,
        timeout: float = 2.0,
        max_retries: int = 3,
        backoff_max: float = 0.01,
    ) -> OkdeskClient: ...


@pytest.fixture
async def make_client(okdesk: ScriptedOkdesk) -> AsyncIterator[ClientFactory]:
    """Build clients against the scripted server with fast retries; closes them afterwards."""
    clients: list[OkdeskClient] = []

    def build(
        *,
        base_url: str | None = None,
        timeout: float = 2.0,
        max_retries: int = 3,
        backoff_max: float = 0.01,
    ) -> OkdeskClient:
        client = OkdeskClient(
            base_url or okdesk.api_url,
            TOKEN,
            timeout=timeout,
            connect_timeout=1.0,
            max_retries=max_retries,
            backoff_base=0.001,
            backoff_max=backoff_max,
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()
