"""The Okdesk emulator: one object owning the account, the HTTP server and the test knobs."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from okdesk_bot.emulators.okdesk.app import build_app
from okdesk_bot.emulators.okdesk.desk import Helpdesk
from okdesk_bot.emulators.okdesk.faults import FaultInjector
from okdesk_bot.emulators.okdesk.staff import Staff
from okdesk_bot.emulators.okdesk.state import (
    Actor,
    Attachment,
    Comment,
    FileUpload,
    Issue,
    IssueSource,
    OkdeskState,
    SeedData,
)
from okdesk_bot.emulators.okdesk.webhooks import WebhookDelivery, WebhookSender
from okdesk_bot.emulators.okdesk.webutil import ApiKeys, RedactingAccessLogger, TemporaryLinks

logger = logging.getLogger(__name__)


def load_seed(path: str | Path | None = None) -> dict[str, Any]:
    """Read a seed file; ``None`` means the bundled ``seed.json``."""
    if path is None:
        text = (
            resources.files("okdesk_bot.emulators.okdesk")
            .joinpath("seed.json")
            .read_text(encoding="utf-8")
        )
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("an Okdesk seed must be a JSON object")
    return data


class OkdeskEmulator:
    """A faithful fake of one Okdesk account: REST API, webhooks, staff actions, faults.

    ``api_token`` belongs to the seed's API employee (an administrator); the optional
    ``contact_api_token`` belongs to the lowest-id seeded contact and, as the apidoc says,
    cannot search companies. Staff actions raise :class:`~.state.NotFoundError` and
    :class:`~.state.ValidationError` like the API answers 404 and 422.
    """

    def __init__(
        self,
        *,
        api_token: str = "test-okdesk-token",  # noqa: S107 - the emulator's well-known test key
        seed: Mapping[str, Any] | None = None,
        webhook_urls: Sequence[str] = (),
        contact_api_token: str | None = None,
        fault_seed: int | None = None,
    ) -> None:
        self.state = OkdeskState(SeedData.model_validate(load_seed() if seed is None else seed))
        self.faults = FaultInjector(seed=fault_seed)
        self.links = TemporaryLinks()
        self._sender = WebhookSender(webhook_urls, clock=self.state.clock)
        self._desk = Helpdesk(self.state, self._sender)
        self.staff = Staff(self._desk)
        keys = {api_token: Actor(type="employee", id=self.state.api_employee_id)}
        if contact_api_token is not None:
            if not self.state.contacts:
                raise ValueError("a contact API key needs at least one seeded contact")
            keys[contact_api_token] = Actor(type="contact", id=min(self.state.contacts))
        self.app = build_app(
            self._desk, keys=ApiKeys(keys), faults=self.faults, links=self.links, staff=self.staff
        )
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    def __repr__(self) -> str:
        return f"OkdeskEmulator(base_url={self._base_url!r})"

    # -- server --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("the Okdesk emulator is already running")
        runner = web.AppRunner(self.app, access_log_class=RedactingAccessLogger)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner = runner
        self._base_url = f"http://{_url_host(bound_host)}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving; webhook deliveries still in flight are cancelled."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._base_url = None

    @property
    def base_url(self) -> str:
        """``http://host:port``: the web base (``/issues/<id>`` pages live here)."""
        if self._base_url is None:
            raise RuntimeError("the Okdesk emulator is not running")
        return self._base_url

    @property
    def api_url(self) -> str:
        """The REST base, ``<base_url>/api/v1``."""
        return self.base_url + "/api/v1"

    # -- webhooks ------------------------------------------------------------------------

    def set_webhook_urls(self, urls: Sequence[str]) -> None:
        self._sender.set_urls(urls)

    @property
    def webhook_log(self) -> list[WebhookDelivery]:
        """Every delivery so far (sent, failed or dropped), in completion order."""
        return self._sender.log

    def drop_next_webhooks(self, count: int) -> None:
        """Do not send the next ``count`` deliveries (logged with ``dropped=True``)."""
        self._sender.drop_next(count)

    async def wait_for_webhooks(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - the agreed public signature; bounded below
    ) -> list[WebhookDelivery]:
        """Wait until :attr:`webhook_log` holds at least ``count`` entries and return it.

        Raises :class:`TimeoutError` saying how many arrived when ``timeout`` runs out.
        """
        try:
            async with asyncio.timeout(timeout):
                return await self._sender.wait_for(count)
        except TimeoutError:
            got = len(self._sender.log)
            raise TimeoutError(f"{got} of {count} webhook deliveries after {timeout} s") from None

    # -- staff actions (each fires its webhook) ------------------------------------------

    async def create_issue(
        self,
        title: str,
        *,
        contact_id: int | None = None,
        company_id: int | None = None,
        description: str = "",
        source: IssueSource = "from_employee",
        employee_id: int | None = None,
        attachments: Sequence[FileUpload] = (),
    ) -> Issue:
        return self.staff.create_issue(
            title,
            contact_id=contact_id,
            company_id=company_id,
            description=description,
            source=source,
            employee_id=employee_id,
            attachments=attachments,
        )

    async def change_status(
        self,
        issue_id: int,
        code: str,
        *,
        comment: str | None = None,
        comment_public: bool = True,
        employee_id: int | None = None,
        delay_to: datetime | None = None,
    ) -> Issue:
        return self.staff.change_status(
            issue_id,
            code,
            comment=comment,
            comment_public=comment_public,
            employee_id=employee_id,
            delay_to=delay_to,
        )

    async def add_comment(
        self,
        issue_id: int,
        content: str,
        *,
        public: bool = True,
        employee_id: int | None = None,
        attachments: Sequence[FileUpload] = (),
        contact_id: int | None = None,
    ) -> Comment:
        """Add an HTML comment; with ``contact_id`` it is the client's, as from the portal."""
        return self.staff.add_comment(
            issue_id,
            content,
            public=public,
            employee_id=employee_id,
            contact_id=contact_id,
            attachments=attachments,
        )

    async def attach_files(
        self, issue_id: int, files: Sequence[FileUpload], *, employee_id: int | None = None
    ) -> list[Attachment]:
        return self.staff.attach_files(issue_id, files, employee_id=employee_id)

    async def assign(
        self, issue_id: int, assignee_id: int | None, *, employee_id: int | None = None
    ) -> Issue:
        return self.staff.assign(issue_id, assignee_id, employee_id=employee_id)

    async def delete_issue(self, issue_id: int, *, employee_id: int | None = None) -> Issue:
        return self.staff.delete_issue(issue_id, employee_id=employee_id)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def serve(
    host: str,
    port: int,
    *,
    api_token: str,
    seed_path: str | None,
    webhook_urls: Sequence[str],
) -> None:
    """Run an emulator until cancelled (the ``okdesk-bot emulate okdesk`` command)."""
    emulator = OkdeskEmulator(
        api_token=api_token, seed=load_seed(seed_path), webhook_urls=webhook_urls
    )
    base_url = await emulator.start(host, port)
    logger.info("Okdesk emulator: API %s, staff %s/_staff/issues", emulator.api_url, base_url)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()
