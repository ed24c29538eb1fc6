"""`reply_markup` validation: inline keyboards, reply keyboards, keyboard removal, force reply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from okdesk_bot.emulators.telegram.errors import bad_request
from okdesk_bot.emulators.telegram.params import Params

MAX_CALLBACK_DATA_BYTES = 64
INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_REPLY_KEYBOARD_OPTIONS = (
    "is_persistent",
    "resize_keyboard",
    "one_time_keyboard",
    "input_field_placeholder",
    "selective",
)
_URL_SCHEMES = ("http://", "https://", "tg://")


def parse_reply_markup(params: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate `reply_markup`; returns the normalised markup or None when absent."""
    raw = params.get_json("reply_markup", error="can't parse reply keyboard markup JSON object")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("object expected as reply markup")
    if "inline_keyboard" in raw:
        return {"inline_keyboard": _rows(raw["inline_keyboard"], _inline_button)}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in raw:
        markup = {"keyboard": _rows(raw["keyboard"], _reply_button)}
        markup.update({key: raw[key] for key in _REPLY_KEYBOARD_OPTIONS if key in raw})
        return markup
    if raw.get("remove_keyboard") is True:
        return {"remove_keyboard": True}
    if raw.get("force_reply") is True:
        return {"force_reply": True}
    raise bad_request("can't parse reply keyboard markup JSON object")


def _rows(
    raw: object, parse_button: Callable[[object], dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    if not isinstance(raw, list) or not all(isinstance(row, list) for row in raw):
        raise bad_request('field "keyboard" must be an Array of Arrays')
    return [[parse_button(button) for button in row] for row in raw]


def _inline_button(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [name for name in INLINE_ACTIONS if raw.get(name) is not None]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request("can't parse inline keyboard button: exactly one action is expected")
    action = actions[0]
    value = raw[action]
    if action == "callback_data" and not _valid_callback_data(value):
        raise bad_request("BUTTON_DATA_INVALID")
    if action == "url" and not (isinstance(value, str) and value.startswith(_URL_SCHEMES)):
        raise bad_request("BUTTON_URL_INVALID")
    return {"text": raw["text"], action: value}


def _valid_callback_data(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES


def _reply_button(raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    if not raw["text"]:
        raise bad_request("can't parse keyboard button: text must be non-empty")
    return dict(raw)


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All inline buttons of a markup, row by row."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]


def reply_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All reply-keyboard buttons of a markup, row by row."""
    if not markup or "keyboard" not in markup:
        return []
    return [button for row in markup["keyboard"] for button in row]
