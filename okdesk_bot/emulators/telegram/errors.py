"""Errors of the Telegram emulator.

`ApiError` is what the fake Bot API answers to a bot (it becomes the `{"ok": false, ...}` body);
`UserActionError` is raised to a test (or the `/_user/` HTTP API) that asks an emulated person to
do something a real Telegram client would not allow, such as pressing a button that is not there.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional `retry_after`.

    `raw_body` replaces the JSON body (a gateway's HTML error page, for instance).
    """

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        raw_body: str | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.raw_body = raw_body

    def to_json(self) -> dict[str, Any]:
        """The response body exactly as the Bot API sends it."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """400 with the `Bad Request: ` prefix every Bot API validation error carries."""
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    """403 with the `Forbidden: ` prefix (blocked bot, deactivated user, ...)."""
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 flood-control answer with `parameters.retry_after`."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def conflict(reason: str) -> ApiError:
    """409 for competing getUpdates requests or getUpdates while a webhook is set."""
    return ApiError(409, f"Conflict: {reason}")


def unauthorized() -> ApiError:
    """401 for a well-formed token that belongs to no registered bot."""
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    """404 for unknown methods, malformed tokens and missing files."""
    return ApiError(404, "Not Found")


SERVER_ERROR_DESCRIPTIONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class UserActionError(Exception):
    """An emulated person was asked to do something a real Telegram client cannot do."""
