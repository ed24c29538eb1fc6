"""Rich text between Okdesk (HTML comments) and Telegram (its small HTML subset).

* :func:`okdesk_html_to_telegram` turns Okdesk comment HTML into Telegram HTML
  (``b i u s a code pre blockquote``), escaping every text node;
* :func:`split_message` cuts long Telegram HTML into messages within Telegram's limit without
  breaking tags or entities;
* :func:`plain_text` and :func:`telegram_text_length` see the text as Telegram does after it
  parses the markup;
* :func:`telegram_to_okdesk_html` makes a client's text safe to post as Okdesk HTML.

Parsing uses the standard library's ``html.parser.HTMLParser``: it is tolerant of the broken
markup that editors and e-mail clients produce, decodes entities, treats ``<script>``/``<style>``
content as opaque, and never fetches or executes anything, so no sanitiser dependency is needed
for a converter that keeps only text and a handful of tags.
"""

import bisect
import html
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urlsplit

__all__ = [
    "IMAGE_PLACEHOLDER",
    "TELEGRAM_MESSAGE_LIMIT",
    "okdesk_html_to_telegram",
    "plain_text",
    "split_message",
    "telegram_text_length",
    "telegram_to_okdesk_html",
]

TELEGRAM_MESSAGE_LIMIT: Final = 4096
IMAGE_PLACEHOLDER: Final = "[изображение]"

_VOID_ELEMENTS: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
_DROPPED_ELEMENTS: Final = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "svg", "math", "iframe",
     "object"}
)  # fmt: skip
_INLINE_ELEMENTS: Final = {
    "b": "b", "strong": "b",
    "i": "i", "em": "i", "cite": "i", "dfn": "i", "var": "i",
    "u": "u", "ins": "u",
    "s": "s", "strike": "s", "del": "s",
    "code": "code", "kbd": "code", "samp": "code", "tt": "code",
    "h1": "b", "h2": "b", "h3": "b", "h4": "b", "h5": "b", "h6": "b", "th": "b",
    "blockquote": "blockquote", "pre": "pre", "a": "a",
}  # fmt: skip
_BLOCK_BREAKS: Final = {
    "p": 2, "h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2, "hr": 2,
    "div": 1, "section": 1, "article": 1, "header": 1, "footer": 1, "aside": 1, "nav": 1,
    "main": 1, "figure": 1, "figcaption": 1, "address": 1, "center": 1, "form": 1,
    "fieldset": 1, "legend": 1, "details": 1, "summary": 1, "blockquote": 1, "pre": 1,
    "ul": 1, "ol": 1, "li": 1, "dl": 1, "dt": 1, "dd": 1, "table": 1, "caption": 1, "tr": 1,
}  # fmt: skip
_FORMATTING: Final = frozenset({"b", "i", "u", "s"})
_LITERAL: Final = frozenset({"code", "pre"})
_SUSPENDED_BY_LITERAL: Final = _FORMATTING | {"a"}
_UNIQUE: Final = _FORMATTING | {"a", "blockquote"}
_MAX_NEWLINES: Final = 2
_LIST_INDENT: Final = "  "
_CELL_SEPARATOR: Final = " | "

_WHITESPACE: Final = re.compile(r"\s+")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _escape(text: str) -> str:
    """Escape a text node the way Telegram expects: ``&``, ``<`` and ``>``."""
    return html.escape(text, quote=False)


def _escape_attribute(value: str) -> str:
    """Escape a double-quoted attribute value with the entities Telegram knows."""
    return _escape(value).replace('"', "&quot;")


# ---------------------------------------------------------------------------------------------
# Okdesk HTML -> Telegram HTML


def okdesk_html_to_telegram(okdesk_html: str) -> str:
    """Convert Okdesk comment HTML to Telegram HTML.

    Kept: bold (``b strong h1-h6 th``), italic (``i em``), underline (``u ins``), strikethrough
    (``s del strike``), ``code``, ``pre``, ``blockquote`` and links whose scheme is http(s),
    mailto or tg. Preformatted text keeps its lines and indentation. Paragraphs are separated
    by one blank line, ``<br>``/``</br>`` and ``<div>``
    start new lines, list items become «• item» or «1. item» lines, table rows become lines of
    cells joined by « | », an image becomes its ``[alt text]`` or «[изображение]». Scripts and
    styles vanish with their content; other tags vanish keeping their text. Entities are decoded
    and every text node is escaped again; tags are always balanced and respect Telegram's
    nesting rules (nothing inside ``code``/``pre``, no link in a link, no quote in a quote).
    Never more than two consecutive newlines, no surrounding whitespace; the result is empty
    when the HTML holds no text.
    """
    converter = _TelegramHtmlWriter()
    converter.feed(okdesk_html)
    converter.close()
    return converter.result()


@dataclass(slots=True)
class _Element:
    """An open element that maps to a Telegram tag (``tag`` None: it maps to nothing).

    ``suspended``, for ``code`` and ``pre``: the formatting closed when they opened, reopened
    when they close.
    """

    source: str
    tag: str | None
    markup: str = ""
    emitted: bool = False
    suspended: list["_Element"] = field(default_factory=list)


class _TelegramHtmlWriter(HTMLParser):
    """Streams Telegram HTML while parsing; see :func:`okdesk_html_to_telegram`.

    Tags open lazily (right before the first text inside them, so empty elements vanish) and
    close at once; line breaks and spaces are held back until the next text so that none is
    left at the start, the end or around a line break.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._stack: list[_Element] = []
        self._dropping: list[str] = []
        self._lists: list[int | None] = []
        self._has_content = False
        self._pending_break = 0
        self._pending_whitespace = ""
        self._pending_prefix = ""
        self._row_has_content = False
        self._in_cell = False
        self._li_depth = 0
        self._pre_start = False

    def result(self) -> str:
        for element in reversed(self._stack):
            if element.emitted and element.tag:
                self._out.append(f"</{element.tag}>")
        self._stack.clear()
        return "".join(self._out)

    # -- parser callbacks ----------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # whatever was dropped (an unclosed <head>) ends here
            self._dropping.clear()
        if self._dropping or tag in _DROPPED_ELEMENTS:
            if tag in _DROPPED_ELEMENTS:
                self._dropping.append(tag)
            return
        if tag == "br":
            self._line_break()
        elif tag == "img":
            self._image(dict(attrs).get("alt"))
        elif tag in _VOID_ELEMENTS:
            self._block_boundary(tag)
        else:
            self._start_container(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            if tag == self._dropping[-1]:
                self._dropping.pop()
            return
        if tag == "br":
            self._line_break()
            return
        if tag in _VOID_ELEMENTS:
            return
        if tag in _INLINE_ELEMENTS:
            self._close(tag)
        if tag in ("ul", "ol") and self._lists:
            self._lists.pop()
            self._li_depth = min(self._li_depth, len(self._lists))
        elif tag == "li":
            self._li_depth = max(self._li_depth - 1, 0)
            self._pending_prefix = ""
        elif tag in ("td", "th", "tr", "table"):
            self._leave_cell()
        self._block_boundary(tag)

    def handle_data(self, data: str) -> None:
        if self._dropping:
            return
        data = _CONTROL.sub("", data)
        if self._in_element("pre"):
            self._preformatted(data)
        else:
            self._flowing(data)

    # -- structure -----------------------------------------------------------------------------

    def _start_container(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._block_boundary(tag)
        if tag in ("ul", "ol"):
            self._lists.append(_list_start(attrs) if tag == "ol" else None)
        elif tag == "li":
            self._list_item()
        elif tag in ("tr", "table"):
            self._leave_cell()
            self._row_has_content = False
        elif tag in ("td", "th"):
            self._leave_cell()
            self._enter_cell()
        if tag in _INLINE_ELEMENTS:
            self._open(tag, attrs)
        if tag == "pre":
            self._pre_start = True

    def _block_boundary(self, tag: str) -> None:
        newlines = _BLOCK_BREAKS.get(tag)
        if newlines is None:
            return
        if self._in_cell and tag not in ("table", "tr", "caption"):
            self._want_space()
        elif tag == "p" and self._li_depth:
            self._request_break(1)
        else:
            self._request_break(newlines)

    def _list_item(self) -> None:
        self._li_depth += 1
        marker = "• "
        if self._lists and (number := self._lists[-1]) is not None:
            marker = f"{number}. "
            self._lists[-1] = number + 1
        self._pending_prefix = _LIST_INDENT * max(len(self._lists) - 1, 0) + marker

    def _enter_cell(self) -> None:
        self._in_cell = True
        if self._row_has_content:
            self._pending_prefix = _CELL_SEPARATOR

    def _leave_cell(self) -> None:
        """End the current cell, also when its end tag was omitted (``<td>a<td>b</tr>``)."""
        self._in_cell = False
        self._pending_prefix = ""
        self._close("th")

    def _image(self, alt: str | None) -> None:
        alt_text = " ".join((alt or "").split())
        self._want_space()
        self._emit(_escape(f"[{alt_text}]" if alt_text else IMAGE_PLACEHOLDER))
        self._want_space()

    # -- tags ----------------------------------------------------------------------------------

    def _open(self, source: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = _INLINE_ELEMENTS[source]
        markup = f"<{tag}>"
        if tag == "a":
            href = _safe_href(dict(attrs).get("href"))
            markup = f'<a href="{_escape_attribute(href)}">' if href else ""
        allowed = (
            bool(markup)
            and not any(element.tag in _LITERAL for element in self._stack)
            and not (tag in _UNIQUE and any(element.tag == tag for element in self._stack))
        )
        element = _Element(source=source, tag=tag if allowed else None, markup=markup)
        if element.tag in _LITERAL:
            element.suspended = self._suspend_formatting()
        self._stack.append(element)

    def _suspend_formatting(self) -> list[_Element]:
        """Close formatting and links around a code block: Telegram forbids them there."""
        first = next(
            (i for i, e in enumerate(self._stack) if e.tag in _SUSPENDED_BY_LITERAL), None
        )
        if first is None:
            return []
        unwound = self._unwind(first)
        self._stack.extend(e for e in unwound if e.tag not in _SUSPENDED_BY_LITERAL)
        return [e for e in unwound if e.tag in _SUSPENDED_BY_LITERAL]

    def _close(self, source: str) -> None:
        index = next(
            (i for i in reversed(range(len(self._stack))) if self._stack[i].source == source),
            None,
        )
        if index is None:
            return
        closed, *above = self._unwind(index)
        self._stack.extend(closed.suspended)
        self._stack.extend(above)

    def _unwind(self, index: int) -> list[_Element]:
        """Pop the elements from ``index`` up, closing those already written; they reopen
        lazily if pushed back."""
        unwound = self._stack[index:]
        del self._stack[index:]
        for element in reversed(unwound):
            if element.emitted and element.tag:
                self._out.append(f"</{element.tag}>")
            element.emitted = False
        return unwound

    def _in_element(self, tag: str) -> bool:
        return any(element.tag == tag for element in self._stack)

    # -- text and whitespace -------------------------------------------------------------------

    def _flowing(self, data: str) -> None:
        for index, word in enumerate(_WHITESPACE.split(data)):
            if index:
                self._want_space()
            if word:
                self._emit(_escape(word))

    def _preformatted(self, data: str) -> None:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
        if self._pre_start:
            data = data.removeprefix("\n")
            self._pre_start = False
        for index, line in enumerate(data.split("\n")):
            if index:
                self._line_break()
            body = line.rstrip()
            if body:
                self._emit(_escape(body if self._has_content else body.lstrip()))
            if self._has_content:
                self._pending_whitespace += line[len(body) :]

    def _want_space(self) -> None:
        if self._has_content and not self._pending_break:
            self._pending_whitespace = " "

    def _line_break(self) -> None:
        if self._in_cell:
            self._want_space()
        elif self._has_content:
            self._pending_break = min(self._pending_break + 1, _MAX_NEWLINES)
            self._pending_whitespace = ""

    def _request_break(self, newlines: int) -> None:
        if self._has_content:
            self._pending_break = max(self._pending_break, newlines)
            self._pending_whitespace = ""

    def _emit(self, escaped_text: str) -> None:
        """Write text after whatever is pending: a line break, a list marker, whitespace and
        the tags opened since the last text. Whitespace held back is dropped if a line break
        or the end of the text comes first."""
        if self._pending_break:
            self._out.append("\n" * self._pending_break)
            self._pending_break = 0
            self._pending_whitespace = ""
        if self._pending_prefix:
            self._out.append(self._pending_prefix)
            self._pending_prefix = ""
            self._pending_whitespace = ""
        self._out.append(_escape(self._pending_whitespace))
        self._pending_whitespace = ""
        for element in self._stack:
            if not element.emitted:
                element.emitted = True
                if element.tag:
                    self._out.append(element.markup)
        self._out.append(escaped_text)
        self._has_content = True
        self._row_has_content = True


def _list_start(attrs: list[tuple[str, str | None]]) -> int:
    start = dict(attrs).get("start") or ""
    return int(start) if start.isascii() and start.isdigit() else 1


def _safe_href(href: str | None) -> str | None:
    """The link if Telegram accepts it and it is safe to follow: http(s), mailto or tg."""
    href = (href or "").strip()
    if not href or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in href):
        return None
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and parts.netloc:
        return href
    if scheme in ("mailto", "tg") and len(href) > len(scheme) + 3:
        return href
    return None


# ---------------------------------------------------------------------------------------------
# Telegram HTML as Telegram sees it


def plain_text(telegram_html: str) -> str:
    """The text of Telegram HTML without its tags, entities decoded: what Telegram displays,
    and what to resend without ``parse_mode`` when Telegram rejects the markup."""
    collector = _TextCollector()
    collector.feed(telegram_html)
    collector.close()
    return "".join(collector.parts)


def telegram_text_length(telegram_html: str) -> int:
    """Length of the text after entity parsing, in UTF-16 code units.

    Telegram limits message text to 4096 "characters after entities parsing" and counts entity
    offsets in UTF-16 code units. An emoji outside the Basic Multilingual Plane is one code point
    but two UTF-16 units; counting units never underestimates, so texts measured this way are
    always accepted.
    """
    return _utf16_length(plain_text(telegram_html))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


# ---------------------------------------------------------------------------------------------
# Splitting long messages


def split_message(telegram_html: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[str]:
    """Split Telegram HTML into messages of at most ``limit`` UTF-16 units of text each.

    Cuts prefer, in this order, a paragraph break, a line break, the end of a sentence and a
    space, looking first in the second half of the room left and then anywhere; only a word
    longer than the room is cut inside (never between a letter and its combining marks).
    Whitespace at the cuts is dropped. A cut never falls inside a tag or an entity: formatting
    open at a cut is closed at the end of one message and reopened at the start of the next, so
    every message is balanced HTML on its own. The input is expected to be Telegram HTML (such
    as :func:`okdesk_html_to_telegram` output); tags without an end tag (``<br>``) are dropped.
    Text with nothing but whitespace gives no message at all.
    """
    if limit < 2:
        msg = f"limit must be at least 2 UTF-16 units, got {limit}"
        raise ValueError(msg)
    document = _TelegramDocument()
    document.feed(telegram_html)
    document.close()
    return list(_MessageSplitter(document.text(), document.events, limit).chunks())


@dataclass(frozen=True, slots=True)
class _TagEvent:
    """A tag in Telegram HTML, at an offset into its plain text (code points)."""

    position: int
    name: str
    markup: str
    closing: bool


class _TelegramDocument(HTMLParser):
    """Telegram HTML as plain text plus the tags found between its characters."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[_TagEvent] = []
        self._parts: list[str] = []
        self._length = 0

    def text(self) -> str:
        return "".join(self._parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_ELEMENTS:
            return
        rendered = "".join(
            f" {name}" if value is None else f' {name}="{_escape_attribute(value)}"'
            for name, value in attrs
        )
        self.events.append(_TagEvent(self._length, tag, f"<{tag}{rendered}>", closing=False))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID_ELEMENTS:
            self.events.append(_TagEvent(self._length, tag, f"</{tag}>", closing=True))

    def handle_data(self, data: str) -> None:
        self._parts.append(data)
        self._length += len(data)


_SENTENCE_CUT: Final = re.compile(r"[.!?…][\"'»”)\]]*(?=\s)")
_UNSPLITTABLE: Final = frozenset({"Mn", "Me", "Mc", "Sk"})
_JOINERS: Final = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


class _MessageSplitter:
    """Chooses the cuts and renders each message with its open tags closed and reopened."""

    def __init__(self, text: str, events: list[_TagEvent], limit: int) -> None:
        self._text = text
        self._events = events
        self._limit = limit
        self._next_event = 0
        self._open: list[_TagEvent] = []
        # _units[i]: UTF-16 length of text[:i]
        self._units = [0]
        for ch in text:
            self._units.append(self._units[-1] + (2 if ord(ch) > 0xFFFF else 1))

    def chunks(self) -> list[str]:
        messages: list[str] = []
        start = self._skip_whitespace(0)
        while start < len(self._text):
            end = self._fitting_end(start)
            cut = len(self._text) if end == len(self._text) else self._best_cut(start, end)
            stop = cut
            while self._text[stop - 1].isspace():
                stop -= 1
            messages.append(self._render(start, stop))
            start = self._skip_whitespace(cut)
        return messages

    # -- choosing cuts ---------------------------------------------------------------------------

    def _skip_whitespace(self, index: int) -> int:
        while index < len(self._text) and self._text[index].isspace():
            index += 1
        return index

    def _fitting_end(self, start: int) -> int:
        """The largest ``end`` with ``text[start:end]`` within the limit."""
        return bisect.bisect_right(self._units, self._units[start] + self._limit) - 1

    def _best_cut(self, start: int, end: int) -> int:
        """Where to cut ``text[start:end + 1]`` (which does not fit): text before the cut fits."""
        for lowest in (max(start + (end - start) // 2, start + 1), start + 1):
            for finder in (self._paragraph, self._line, self._sentence, self._space):
                cut = finder(lowest, end)
                if cut is not None:
                    return cut
        return self._hard_cut(start, end)

    def _paragraph(self, lowest: int, end: int) -> int | None:
        cut = self._text.rfind("\n\n", lowest, end + 2)
        return cut if cut >= 0 else None

    def _line(self, lowest: int, end: int) -> int | None:
        cut = self._text.rfind("\n", lowest, end + 1)
        return cut if cut >= 0 else None

    def _sentence(self, lowest: int, end: int) -> int | None:
        cut = None
        for match in _SENTENCE_CUT.finditer(self._text, lowest, end + 1):
            if match.end() <= end:
                cut = match.end()
        return cut

    def _space(self, lowest: int, end: int) -> int | None:
        for index in range(end, lowest - 1, -1):
            if self._text[index].isspace():
                return index
        return None

    def _hard_cut(self, start: int, end: int) -> int:
        """Cut inside a word, but not between a character and its marks or joiners."""
        cut = end
        while cut > start + 1 and self._inseparable(cut):
            cut -= 1
        return end if self._inseparable(cut) else cut

    def _inseparable(self, index: int) -> bool:
        """Whether ``text[index]`` belongs with the character before it."""
        ch = self._text[index]
        return (
            unicodedata.category(ch) in _UNSPLITTABLE
            or ch in _JOINERS
            or self._text[index - 1] in _JOINERS
        )

    # -- rendering -------------------------------------------------------------------------------

    def _render(self, start: int, stop: int) -> str:
        """Markup of ``text[start:stop]``, with the tags open there reopened and closed."""
        self._apply_events_up_to(start)
        out = [event.markup for event in self._open]
        cursor = start
        while (
            self._next_event < len(self._events) and self._events[self._next_event].position < stop
        ):
            event = self._events[self._next_event]
            self._next_event += 1
            out.append(_escape(self._text[cursor : event.position]))
            out.append(self._apply(event))
            cursor = event.position
        out.append(_escape(self._text[cursor:stop]))
        out.extend(f"</{event.name}>" for event in reversed(self._open))
        return "".join(out)

    def _apply_events_up_to(self, position: int) -> None:
        while (
            self._next_event < len(self._events)
            and self._events[self._next_event].position <= position
        ):
            self._apply(self._events[self._next_event])
            self._next_event += 1

    def _apply(self, event: _TagEvent) -> str:
        """Update the open tags; return the markup that does so while keeping tags nested."""
        if not event.closing:
            self._open.append(event)
            return event.markup
        for index in reversed(range(len(self._open))):
            if self._open[index].name == event.name:
                above = self._open[index + 1 :]
                markup = "".join(f"</{e.name}>" for e in reversed(self._open[index:]))
                del self._open[index:]
                self._open.extend(above)
                return markup + "".join(e.markup for e in above)
        return ""


# ---------------------------------------------------------------------------------------------
# Telegram text -> Okdesk HTML


def telegram_to_okdesk_html(text: str) -> str:
    """A client's Telegram text as Okdesk comment or description HTML.

    Everything is escaped (Okdesk renders the HTML, so ``<b>`` typed by a client must show as
    typed), control characters are dropped and line breaks become ``<br>``.
    """
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _escape(text).replace("\n", "<br>")
