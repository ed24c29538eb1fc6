"""Message text formatting as the Bot API does it: HTML parse mode, entities and length limits.

`parse_html` follows tdlib's `parse_html` (the parser behind the Bot API): the same tag set,
the same attribute rules and the same error texts, with byte offsets into the UTF-8 source.
One deliberate difference, switchable with `strict_ampersand=False`: Telegram keeps an `&` that
starts no known entity as a literal character, while the emulator rejects it by default so that
a forgotten `html.escape` fails loudly in tests instead of slipping through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from okdesk_bot.emulators.telegram.errors import bad_request
from okdesk_bot.emulators.telegram.params import Params

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

_SPACES = frozenset(" \t\r\n\v\f")
_NAME_END = _SPACES | {">"}
_ATTRIBUTE_NAME_END = _SPACES | {"=", ">"}
_STRIPPED = " \t\r\n"
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "a", "code", "pre", "blockquote", "tg-emoji"})
_BOT_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets in the Bot API."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Text after entity parsing, its entities, and the source exactly as the bot sent it."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""
    parse_mode: str | None = None


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int


class _HtmlParser:
    """Single-pass HTML entity parser; raises 400 "can't parse entities" like the Bot API."""

    def __init__(self, source: str, *, strict_ampersand: bool) -> None:
        self.src = source
        self.pos = 0
        self.strict_ampersand = strict_ampersand
        self.out: list[str] = []
        self.utf16_offset = 0
        self.open_tags: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "&":
                self._ampersand()
            elif char == "<":
                self._tag()
            else:
                self._emit(char)
                self.pos += 1
        if self.open_tags:
            name = self.open_tags[-1].name
            self._fail(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.out), self.entities

    def _char(self, index: int) -> str:
        return self.src[index] if index < len(self.src) else ""

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def _fail(self, reason: str) -> None:
        raise bad_request(f"can't parse entities: {reason}")

    def _emit(self, char: str) -> None:
        self.out.append(char)
        self.utf16_offset += 2 if ord(char) > 0xFFFF else 1

    def _ampersand(self) -> None:
        decoded = self._decode_entity()
        if decoded is not None:
            self._emit(decoded)
            return
        if self.strict_ampersand:
            self._fail(
                f'Character "&" must be escaped as "&amp;" at byte offset '
                f"{self._byte_offset(self.pos)}"
            )
        self._emit("&")
        self.pos += 1

    def _decode_entity(self) -> str | None:
        """Decode `&name;` / `&#N;` / `&#xN;` at `pos`, advancing past it; None if not one."""
        end = self.pos + 1
        if self._char(end) == "#":
            end += 1
            digits_start = end
            hexadecimal = self._char(end) in ("x", "X")
            if hexadecimal:
                end += 1
                digits_start = end
            allowed = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            while self._char(end) and self._char(end) in allowed:
                end += 1
            digits = self.src[digits_start:end]
            if not digits:
                return None
            code = int(digits, 16 if hexadecimal else 10)
            if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return None
            decoded = chr(code)
        else:
            while self._char(end).isascii() and self._char(end).isalpha():
                end += 1
            named = _NAMED_ENTITIES.get(self.src[self.pos + 1 : end])
            if named is None:
                return None
            decoded = named
        self.pos = end + 1 if self._char(end) == ";" else end
        return decoded

    def _tag(self) -> None:
        begin = self.pos
        self.pos += 1
        if self._char(self.pos) == "/":
            self._end_tag(begin)
        else:
            self._start_tag(begin)

    def _start_tag(self, begin: int) -> None:
        while self._char(self.pos) and self._char(self.pos) not in _NAME_END:
            self.pos += 1
        if not self._char(self.pos):
            self._fail(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        name = self.src[begin + 1 : self.pos].lower()
        if name not in _SUPPORTED_TAGS:
            self._fail(f'Unsupported start tag "{name}" at byte offset {self._byte_offset(begin)}')
        argument = self._attributes(name, begin)
        if name == "span" and argument != "spoiler":
            offset = self._byte_offset(begin)
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        self.pos += 1  # the closing ">"
        self.open_tags.append(_OpenTag(name, argument, self.utf16_offset))

    def _attributes(self, tag: str, begin: int) -> str:
        argument = ""
        while self._char(self.pos) != ">":
            while self._char(self.pos) in _SPACES:
                self.pos += 1
            if self._char(self.pos) == ">":
                break
            attribute_start = self.pos
            while self._char(self.pos) and self._char(self.pos) not in _ATTRIBUTE_NAME_END:
                self.pos += 1
            attribute = self.src[attribute_start : self.pos].lower()
            if not attribute:
                self._fail(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self._byte_offset(begin)}"
                )
            while self._char(self.pos) in _SPACES:
                self.pos += 1
            if self._char(self.pos) != "=":
                if tag == "blockquote" and attribute == "expandable":
                    argument = "expandable"
                    continue
                self._fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {self._byte_offset(begin)}"
                )
            self.pos += 1
            while self._char(self.pos) in _SPACES:
                self.pos += 1
            if not self._char(self.pos):
                self._fail(f'Unclosed start tag "{tag}" at byte offset {self._byte_offset(begin)}')
            value = self._attribute_value()
            if not self._char(self.pos):
                self._fail(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
            argument = _tag_argument(tag, attribute, value) or argument
        return argument

    def _attribute_value(self) -> str:
        quote = self._char(self.pos)
        if quote not in ("'", '"'):
            start = self.pos
            while self._char(self.pos) and (
                self._char(self.pos).isalnum() or self._char(self.pos) in ".-"
            ):
                self.pos += 1
            if self._char(self.pos) not in _NAME_END or not self._char(self.pos):
                self._fail(
                    f"Unexpected end of name token at byte offset {self._byte_offset(start)}"
                )
            return self.src[start : self.pos].lower()
        self.pos += 1
        value: list[str] = []
        while self._char(self.pos) and self._char(self.pos) != quote:
            if self._char(self.pos) == "&" and (decoded := self._decode_entity()) is not None:
                value.append(decoded)
                continue
            value.append(self._char(self.pos))
            self.pos += 1
        if self._char(self.pos) == quote:
            self.pos += 1
        return "".join(value)

    def _end_tag(self, begin: int) -> None:
        if not self.open_tags:
            self._fail(f"Unexpected end tag at byte offset {self._byte_offset(begin)}")
        self.pos += 1  # the "/"
        name_start = self.pos
        while self._char(self.pos) and self._char(self.pos) not in _NAME_END:
            self.pos += 1
        end_name = self.src[name_start : self.pos].lower()
        while self._char(self.pos) in _SPACES:
            self.pos += 1
        if self._char(self.pos) != ">":
            self._fail(f"Unclosed end tag at byte offset {self._byte_offset(begin)}")
        self.pos += 1
        opened = self.open_tags.pop()
        if end_name and end_name != opened.name:
            self._fail(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{opened.name}>", found "</{end_name}>"'
            )
        self._close_entity(opened)

    def _close_entity(self, opened: _OpenTag) -> None:
        length = self.utf16_offset - opened.utf16_offset
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": opened.utf16_offset, "length": length}
        if opened.name in _SIMPLE_TAGS:
            entity["type"] = _SIMPLE_TAGS[opened.name]
        elif opened.name == "a":
            if not opened.argument:
                return
            entity.update(type="text_link", url=opened.argument)
        elif opened.name == "code":
            entity["type"] = "code"
            if opened.argument:
                entity["language"] = opened.argument
        elif opened.name == "pre":
            entity["type"] = "pre"
            self._absorb_inner_code(entity)
        elif opened.name == "blockquote":
            entity["type"] = (
                "expandable_blockquote" if opened.argument == "expandable" else "blockquote"
            )
        else:  # tg-emoji
            if not opened.argument.isdigit():
                self._fail("Custom emoji entity must contain a valid custom emoji identifier")
            entity.update(type="custom_emoji", custom_emoji_id=opened.argument)
        self.entities.append(entity)

    def _absorb_inner_code(self, pre: dict[str, Any]) -> None:
        """`<pre><code class="language-x">` is one `pre` entity with a language."""
        if not self.entities:
            return
        inner = self.entities[-1]
        same_span = inner["offset"] == pre["offset"] and inner["length"] == pre["length"]
        if inner["type"] == "code" and same_span:
            self.entities.pop()
            if "language" in inner:
                pre["language"] = inner["language"]


def _tag_argument(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    return None


def parse_html(source: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Bot API HTML into plain text and entities (offsets in UTF-16 code units)."""
    return _HtmlParser(source, strict_ampersand=strict_ampersand).parse()


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim leading/trailing whitespace as Telegram does and clip the entities to match."""
    stripped_left = text.lstrip(_STRIPPED)
    shift = utf16_length(text) - utf16_length(stripped_left)
    result = stripped_left.rstrip(_STRIPPED)
    total = utf16_length(result)
    clipped: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            clipped.append({**entity, "offset": start, "length": end - start})
    return result, clipped


def format_text(
    params: Params,
    *,
    text_field: str,
    entities_field: str,
    strict_ampersand: bool,
    caption: bool = False,
) -> FormattedText:
    """Parse a text or caption parameter with its parse_mode/entities and check its length."""
    source = params.get_str(text_field) or ""
    parse_mode = params.get_str("parse_mode") or None
    if parse_mode is not None and parse_mode.lower() != "html":
        if parse_mode.lower() not in ("markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        raise bad_request(f'parse_mode "{parse_mode}" is not supported by the emulator; use HTML')
    if parse_mode is not None:
        text, entities = parse_html(source, strict_ampersand=strict_ampersand)
    else:
        text, entities = source, _explicit_entities(params, entities_field)
    text, entities = strip_text(text, entities)
    limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
    if len(text) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    if not text and not caption:
        raise bad_request("message text is empty")
    return FormattedText(text, entities, source, "HTML" if parse_mode else None)


def _explicit_entities(params: Params, name: str) -> list[dict[str, Any]]:
    raw = params.get_json(name)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(_is_entity(item) for item in raw):
        raise bad_request(f"can't parse {name} JSON object")
    return [dict(item) for item in raw]


def _is_entity(item: object) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("type"), str)
        and isinstance(item.get("offset"), int)
        and isinstance(item.get("length"), int)
    )


def detect_bot_commands(text: str) -> list[dict[str, Any]]:
    """`bot_command` entities a Telegram client attaches to `/commands` in typed text."""
    entities = []
    for match in _BOT_COMMAND.finditer(text):
        offset = utf16_length(text[: match.start()])
        entities.append(
            {"type": "bot_command", "offset": offset, "length": utf16_length(match.group())}
        )
    return entities
