"""`okdesk-bot check`: what an admin runs before the first start.

Each check prints one line, ✓ or ✗, with the cause and, on failure, the fix. Checks that
depend on an earlier one (Okdesk rights need a working token) are skipped, not failed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from okdesk_bot.bot.factory import create_bot
from okdesk_bot.config import Settings
from okdesk_bot.db.base import utcnow
from okdesk_bot.db.engine import DatabaseUrlError, create_engine, create_session_factory
from okdesk_bot.db.migrate import current_revision_async, upgrade_async
from okdesk_bot.db.uow import UnitOfWork
from okdesk_bot.okdesk import (
    OkdeskAuthError,
    OkdeskClient,
    OkdeskConnectionError,
    OkdeskError,
    OkdeskForbiddenError,
    OkdeskNotFoundError,
    OkdeskTimeoutError,
)
from okdesk_bot.services.webhook_secret import ensure_webhook_secret, webhook_endpoint_url

log = logging.getLogger(__name__)

OK, FAIL = "✓", "✗"

LAST_CHECK_KEY = "diagnostics.last_check_at"
_DATABASE_FIX = (
    "check DATABASE_URL, that the server is up, and that the SQLite directory "
    "(or the PostgreSQL role) allows writing"
)

# A phone no contact has: searching for it proves the right to search without leaking data.
_PROBE_PHONE = "+70000000000"


class CheckFailedError(Exception):
    """A check did not pass; `fix` tells the admin what to do."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(cause)
        self.cause = cause
        self.fix = fix


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def render(self) -> str:
        line = f"{OK if self.ok else FAIL} {self.name}: {self.detail}"
        if self.fix:
            line += f"\n    fix: {self.fix}"
        return line


@dataclass(slots=True)
class Report:
    results: list[CheckResult] = field(default_factory=list)
    webhook_url: str | None = None

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    def render(self) -> str:
        lines = [result.render() for result in self.results]
        if self.webhook_url:
            lines += ["", "Okdesk webhook URL (Okdesk → Settings → Webhooks):", self.webhook_url]
        failed = sum(not result.ok for result in self.results)
        lines += ["", "All checks passed." if not failed else f"{failed} check(s) failed."]
        return "\n".join(lines)


Check = Callable[[], Awaitable[str]]


async def _run(report: Report, name: str, check: Check) -> bool:
    try:
        detail = await check()
    except CheckFailedError as exc:
        report.results.append(CheckResult(name, ok=False, detail=exc.cause, fix=exc.fix))
        return False
    except Exception as exc:
        log.debug("check %r failed", name, exc_info=True)
        report.results.append(
            CheckResult(name, ok=False, detail=f"unexpected error: {type(exc).__name__}: {exc}")
        )
        return False
    report.results.append(CheckResult(name, ok=True, detail=detail))
    return True


def _skip(report: Report, name: str) -> None:
    report.results.append(
        CheckResult(name, ok=False, detail="skipped: the Okdesk API check failed")
    )


def _okdesk_failure(exc: OkdeskError, settings: Settings, what: str) -> CheckFailedError:
    host = urlsplit(settings.okdesk_api_url).netloc
    if isinstance(exc, OkdeskAuthError):
        return CheckFailedError(
            "Okdesk rejected the token (HTTP 401)",
            "copy OKDESK_API_TOKEN again from Okdesk → Settings → API; "
            "the key may have been deleted or regenerated",
        )
    if isinstance(exc, OkdeskForbiddenError):
        return CheckFailedError(
            f"the token may not {what} (HTTP 403)",
            "give the key's employee a role that can read companies, contacts and issues "
            "(e.g. Administrator), or create the key for such an employee",
        )
    if isinstance(exc, OkdeskNotFoundError):
        return CheckFailedError(
            f"{host} has no Okdesk API at {settings.okdesk_api_url} (HTTP 404)",
            "OKDESK_API_URL must be the API base: https://<account>.okdesk.ru/api/v1",
        )
    if isinstance(exc, OkdeskTimeoutError):
        return CheckFailedError(
            f"{host} did not answer within {settings.okdesk_timeout:g} s",
            "check that the server is up and reachable from here; raise OKDESK_TIMEOUT "
            "if it is just slow",
        )
    if isinstance(exc, OkdeskConnectionError):
        return CheckFailedError(
            f"cannot connect to {host}",
            "check OKDESK_API_URL (spelling, https), DNS and the firewall",
        )
    return CheckFailedError(
        f"Okdesk answered with an error: {exc}",
        "check OKDESK_API_URL: it must be the API base https://<account>.okdesk.ru/api/v1",
    )


async def _check_okdesk(report: Report, settings: Settings, okdesk: OkdeskClient) -> None:
    async def api() -> str:
        try:
            statuses = await okdesk.list_statuses()
        except OkdeskError as exc:
            raise _okdesk_failure(exc, settings, "read the statuses reference") from None
        return (
            f"{settings.okdesk_api_url} answers, the token is accepted, "
            f"{len(statuses)} ticket statuses readable"
        )

    if not await _run(report, "Okdesk API", api):
        for name in ("Okdesk companies by INN", "Okdesk contacts"):
            _skip(report, name)
        return

    code = settings.okdesk_inn_parameter_code

    async def companies() -> str:
        try:
            listed = await okdesk.list_companies(page_size=100)
        except OkdeskError as exc:
            raise _okdesk_failure(exc, settings, "list companies") from None
        if not listed:
            return "the token can list companies; there are none yet, INN lookup is untested"
        with_inn = [c for c in listed if c.parameter_value(code) not in (None, "")]
        if not with_inn:
            seen = sorted({p.code for c in listed for p in c.parameters})
            raise CheckFailedError(
                f"none of {len(listed)} companies has the attribute {code!r}"
                + (f" (attribute codes seen: {', '.join(seen)})" if seen else ""),
                "set OKDESK_INN_PARAMETER_CODE to the code of the company attribute that "
                "holds the INN (Okdesk → Settings → Companies → Additional attributes)",
            )
        sample = with_inn[0]
        inn = str(sample.parameter_value(code))
        try:
            found = await okdesk.find_company_by_inn(inn, parameter_code=code)
        except OkdeskError as exc:
            raise _okdesk_failure(exc, settings, "search companies by attribute") from None
        if found is None or found.id != sample.id:
            raise CheckFailedError(
                f"searching by custom_parameters[{code}]={inn} did not find company #{sample.id}",
                "check that the attribute is of type string and the key may search companies",
            )
        return f"attribute {code!r} found; company #{sample.id} found by its INN {inn}"

    async def contacts() -> str:
        try:
            await okdesk.find_contacts_by_phone(_PROBE_PHONE)
        except OkdeskError as exc:
            raise _okdesk_failure(exc, settings, "search contacts") from None
        return "the token can search contacts by phone"

    await _run(report, "Okdesk companies by INN", companies)
    await _run(report, "Okdesk contacts", contacts)


async def _check_telegram(report: Report, settings: Settings) -> None:
    async def telegram() -> str:
        bot = create_bot(settings.bot_token.get_secret_value(), api_url=settings.telegram_api_url)
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise CheckFailedError(
                "Telegram rejected BOT_TOKEN (401 Unauthorized)",
                "copy the token again from @BotFather (/mybots → API Token); "
                "it changes when revoked",
            ) from None
        except TelegramNetworkError:
            raise CheckFailedError(
                f"cannot reach the Bot API at {settings.telegram_api_url}",
                "check the network and TELEGRAM_API_URL (leave it unset for Telegram itself)",
            ) from None
        finally:
            await bot.session.close()
        return f"the token belongs to @{me.username} (id {me.id})"

    await _run(report, "Telegram", telegram)


async def _check_database(report: Report, settings: Settings) -> bool:
    async def database() -> str:
        try:
            engine = create_engine(settings.database_url)
        except DatabaseUrlError as exc:
            raise CheckFailedError(f"cannot use the database: {exc}", _DATABASE_FIX) from None
        try:
            await upgrade_async(settings.database_url)
            async with UnitOfWork(create_session_factory(engine)) as uow:
                # A real write: proves the file (or the role) is writable.
                await uow.app_state.set(LAST_CHECK_KEY, utcnow().isoformat())
                await uow.commit()
            revision = await current_revision_async(settings.database_url)
        except (OSError, SQLAlchemyError) as exc:
            raise CheckFailedError(
                f"cannot use the database: {_database_problem(exc)}", _DATABASE_FIX
            ) from None
        finally:
            await engine.dispose()
        return f"{engine.dialect.name} is writable, schema at revision {revision}"

    return await _run(report, "Database", database)


def _database_problem(exc: Exception) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).splitlines()[0]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


async def _check_webhook(report: Report, settings: Settings) -> None:
    async def webhook() -> str:
        if settings.webhook_url is None:
            raise CheckFailedError(
                "WEBHOOK_URL is not set, so Okdesk cannot tell the bot about ticket changes",
                "set WEBHOOK_URL to the public https address of this service",
            )
        engine = create_engine(settings.database_url)
        try:
            secret = await ensure_webhook_secret(
                create_session_factory(engine), settings.webhook_secret
            )
        finally:
            await engine.dispose()
        report.webhook_url = webhook_endpoint_url(settings, secret)
        origin = (
            "WEBHOOK_SECRET" if settings.webhook_secret else "generated and kept in the database"
        )
        return f"Okdesk should call {webhook_endpoint_url(settings, None)} (secret: {origin})"

    await _run(report, "Okdesk webhook", webhook)


async def run_checks(settings: Settings) -> Report:
    """Run every check in order and collect the results."""
    report = Report()
    async with OkdeskClient(
        settings.okdesk_api_url,
        settings.okdesk_api_token.get_secret_value(),
        timeout=settings.okdesk_timeout,
        account_timezone=settings.okdesk_timezone,
        max_retries=1,
    ) as okdesk:
        await _check_okdesk(report, settings, okdesk)
    await _check_telegram(report, settings)
    if await _check_database(report, settings):
        await _check_webhook(report, settings)
    return report
