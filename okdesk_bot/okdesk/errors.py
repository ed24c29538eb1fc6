"""Exceptions raised by the Okdesk client.

Every message is written for the administrator who will read it in a log or a diagnostics
screen, and none of them ever contains the API token. The tree, by what a caller does next::

    OkdeskError
    ├── OkdeskAuthError          401: the token is wrong or revoked; fix the settings
    ├── OkdeskForbiddenError     403: the token's user lacks the rights for this call
    ├── OkdeskNotFoundError      404, or a redirect for a deleted, merged or hidden record
    ├── OkdeskValidationError    400/422, or ``errors`` in a 2xx body; carries field errors
    ├── OkdeskProtocolError      a 2xx answer the client cannot understand
    └── OkdeskUnavailableError   transient: trying again later may succeed
        ├── OkdeskConnectionError    Okdesk could not be reached, or dropped the connection
        ├── OkdeskTimeoutError       Okdesk did not answer in time
        ├── OkdeskRateLimitedError   429, with ``retry_after`` when Okdesk sends it
        └── OkdeskServerError        5xx

``outcome_unknown`` is true when a write (POST/PATCH) may or may not have been applied:
the request reached Okdesk but no trustworthy answer came back. The client never repeats such
a write on its own; callers must check (for instance, list the issue's comments) before
sending it again.
"""

from collections.abc import Mapping, Sequence

__all__ = [
    "OkdeskAuthError",
    "OkdeskConnectionError",
    "OkdeskError",
    "OkdeskForbiddenError",
    "OkdeskNotFoundError",
    "OkdeskProtocolError",
    "OkdeskRateLimitedError",
    "OkdeskServerError",
    "OkdeskTimeoutError",
    "OkdeskUnavailableError",
    "OkdeskValidationError",
    "flatten_errors",
]


class OkdeskError(Exception):
    """Base class of every error the Okdesk client raises."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.outcome_unknown = outcome_unknown

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"


class OkdeskAuthError(OkdeskError):
    """Okdesk rejected the API token (HTTP 401)."""


class OkdeskForbiddenError(OkdeskError):
    """The token's user may not perform this call (HTTP 403)."""


class OkdeskNotFoundError(OkdeskError):
    """The record does not exist, was deleted or merged, or is not visible to the token."""


class OkdeskValidationError(OkdeskError):
    """Okdesk refused the request's data.

    ``field_errors`` maps a dotted field path (``last_name``, ``page.size``,
    ``observer_ids.1``) to its messages; ``general_errors`` holds messages not tied to a field,
    such as a plain-string ``errors`` value.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        general_errors: Sequence[str] = (),
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.field_errors: dict[str, list[str]] = {
            field: list(messages) for field, messages in (field_errors or {}).items()
        }
        self.general_errors: list[str] = list(general_errors)


class OkdeskProtocolError(OkdeskError):
    """Okdesk answered with success but the body is not what the API describes."""


class OkdeskUnavailableError(OkdeskError):
    """Okdesk could not serve the request now; the same call may succeed later."""


class OkdeskConnectionError(OkdeskUnavailableError):
    """Okdesk could not be reached, or the connection broke before an answer arrived."""


class OkdeskTimeoutError(OkdeskUnavailableError):
    """Okdesk did not answer within the configured timeout."""


class OkdeskRateLimitedError(OkdeskUnavailableError):
    """Okdesk asked the client to slow down (HTTP 429)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class OkdeskServerError(OkdeskUnavailableError):
    """Okdesk failed with a 5xx status."""


def flatten_errors(errors: object) -> tuple[list[str], dict[str, list[str]]]:
    """Split an Okdesk ``errors`` value into general messages and per-field messages.

    Okdesk sends ``errors`` as a string, a list of strings, or an object keyed by field whose
    values are message lists or further nested objects::

        {"page": {"size": ["must be <= 100"]}, "observer_ids": {"1": ["must be integer"]}}

    Nested keys are joined with dots: ``page.size``, ``observer_ids.1``.
    """
    general: list[str] = []
    fields: dict[str, list[str]] = {}

    def walk(value: object, path: str) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, path)
        elif path:
            fields.setdefault(path, []).append(str(value))
        else:
            general.append(str(value))

    walk(errors, "")
    return general, fields
