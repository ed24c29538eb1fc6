"""Bot API request parameters, read the way the real server reads them.

The Bot API accepts parameters in the query string, as `application/x-www-form-urlencoded`,
`application/json` or `multipart/form-data` (files). In form bodies every value is a string and
complex values (keyboards, entities, media lists) are JSON-encoded strings; in JSON bodies they
are native values. `Params` hides that difference behind typed accessors that fail with the
same kind of 400 answer the real server gives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from okdesk_bot.emulators.telegram.errors import ApiError, bad_request

ATTACH_PREFIX = "attach://"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent in a multipart part."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """Typed read access to the parameters of one Bot API call."""

    def __init__(self, fields: Mapping[str, Any], uploads: Mapping[str, Upload]) -> None:
        self._fields = dict(fields)
        self._uploads = dict(uploads)

    def has(self, name: str) -> bool:
        """Whether the parameter was sent with a non-null value (or as an uploaded file)."""
        return self._fields.get(name) is not None or name in self._uploads

    def get_str(self, name: str) -> str | None:
        """A string parameter; numbers are accepted and converted, as the real server does."""
        value = self._fields.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def require_str(self, name: str) -> str:
        """A mandatory string parameter (`<name> is empty` when missing)."""
        value = self.get_str(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def get_int(self, name: str) -> int | None:
        """An integer parameter given as a JSON number or a decimal string."""
        value = self._fields.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Integer')

    def require_int(self, name: str, *, missing: str | None = None) -> int:
        """A mandatory integer parameter; `missing` overrides the description when absent."""
        value = self.get_int(name)
        if value is None:
            raise bad_request(missing or f"{name} is empty")
        return value

    def get_float(self, name: str) -> float | None:
        """A floating-point parameter (coordinates)."""
        value = self._fields.get(name)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Float')

    def get_bool(self, name: str) -> bool:
        """A boolean flag; absent means false."""
        value = self._fields.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, *, error: str | None = None) -> Any:
        """A complex parameter: native in JSON bodies, a JSON-encoded string in forms."""
        value = self._fields.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(error or f"can't parse {name} JSON object") from None

    def get_file(self, name: str) -> Upload | str | None:
        """A file parameter: an upload (direct or `attach://`) or a file_id / URL string."""
        if name in self._uploads:
            return self._uploads[name]
        value = self.get_str(name)
        if value is None:
            return None
        return self.resolve_attachment(value)

    def resolve_attachment(self, reference: str) -> Upload | str:
        """Turn `attach://<part>` into the uploaded part; other strings are returned as is."""
        if not reference.startswith(ATTACH_PREFIX):
            return reference
        upload = self._uploads.get(reference.removeprefix(ATTACH_PREFIX))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return upload

    def to_record(self) -> dict[str, Any]:
        """The parameters as recorded for tests: values as received, files as name and size."""
        record = dict(self._fields)
        for name, upload in self._uploads.items():
            record[name] = {"filename": upload.filename, "size": len(upload.data)}
        return record


async def read_request_params(request: web.Request) -> Params:
    """Read query, urlencoded, JSON or multipart parameters of a Bot API request."""
    fields: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if not request.body_exists:
        return Params(fields, uploads)
    content_type = request.content_type
    if content_type == "application/json":
        fields.update(_json_object(await request.text()))
    elif content_type == "multipart/form-data":
        form_fields, uploads = await read_multipart(await request.multipart())
        fields.update(form_fields)
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        fields.update({key: value for key, value in form.items() if isinstance(value, str)})
    return Params(fields, uploads)


def _json_object(raw: str) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise bad_request("can't parse JSON encoded request body") from None
    if not isinstance(body, dict):
        raise bad_request("JSON object expected as request body")
    return body


async def read_multipart(reader: MultipartReader) -> tuple[dict[str, str], dict[str, Upload]]:
    """Read every part of a form: plain fields as text, parts with a filename as uploads."""
    fields: dict[str, str] = {}
    uploads: dict[str, Upload] = {}
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            raise bad_request("can't parse multipart/form-data request body")
        data = await _read_part(part, MAX_UPLOAD_BYTES - total)
        total += len(data)
        if part.filename is None:
            fields[part.name] = data.decode(part.get_charset(default="utf-8"))
        else:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            uploads[part.name] = Upload(part.filename, content_type, data)
    return fields, uploads


async def _read_part(part: BodyPartReader, budget: int) -> bytes:
    chunks = bytearray()
    while chunk := await part.read_chunk(_READ_CHUNK):
        chunks.extend(chunk)
        if len(chunks) > budget:
            raise ApiError(413, "Request Entity Too Large")
    return bytes(chunks)
