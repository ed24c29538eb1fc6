"""Ticket titles from the one message a client sends.

A client describes the problem in a single Telegram message; its first sentence (or first line,
whichever ends first) becomes the Okdesk ticket title and the whole text the description.

The title is cleaned for an Okdesk list view:

* control and invisible format characters are dropped, whitespace runs become one space;
* leading bullets, quotes, list numbers («1.», «2)») and emoji are stripped, and so are trailing
  commas, colons, dashes, full stops and emoji (a full stop after an abbreviation such as
  «т.д.» stays; «?», «!» and «…» stay too);
* a greeting that opens the message («Добрый день!», «Здравствуйте, коллеги!») is skipped and
  the next sentence is used; a greeting in front of the subject («Здравствуйте, не печатает
  принтер») is cut off;
* a title longer than ``max_length`` is cut at a word boundary and ends with «…», the «…»
  included in ``max_length``.

Without usable text the title describes the attachment («Фото от клиента», «Документ:
invoice.pdf») or, with nothing at all, is «Обращение из Telegram». Titles are in Russian: they
are read by the service desk, whose Okdesk account is Russian.
"""

import re
import unicodedata
from collections.abc import Iterator
from typing import Final

__all__ = ["ELLIPSIS", "GENERIC_TITLE", "MIN_TITLE_LENGTH", "make_title"]

GENERIC_TITLE: Final = "Обращение из Telegram"
ELLIPSIS: Final = "…"
MIN_TITLE_LENGTH: Final = 10
"""The smallest ``max_length`` accepted: below it no title says anything."""

_MIN_FILE_NAME_ROOM: Final = 8

# kind (aiogram's ContentType values) -> (title without a file name, label before a file name);
# no label: the kind never has a meaningful file name.
_ATTACHMENT_TITLES: Final[dict[str, tuple[str, str | None]]] = {
    "photo": ("Фото от клиента", None),
    "document": ("Документ от клиента", "Документ"),
    "video": ("Видео от клиента", "Видео"),
    "animation": ("Анимация от клиента", "Анимация"),
    "audio": ("Аудиозапись от клиента", "Аудио"),
    "voice": ("Голосовое сообщение", None),
    "video_note": ("Видеосообщение", None),
    "sticker": ("Стикер от клиента", None),
}
_OTHER_ATTACHMENT: Final[tuple[str, str | None]] = ("Вложение от клиента", "Файл")
_NO_ATTACHMENT: Final[tuple[str, str | None]] = (GENERIC_TITLE, "Файл")

_DROPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs"})
_NOISE_SYMBOL_CATEGORIES: Final = frozenset({"So", "Sk", "Mn", "Me"})
_KEPT_SYMBOLS: Final = frozenset("№")
_LEADING_PUNCTUATION: Final = frozenset("-–—*•·‣◦▪▫●○■□►▸▶→>#'»”‘’`|.,;:!?…)]")
_TRAILING_PUNCTUATION: Final = frozenset(",;:-–—/\\|")
_LIST_NUMBER: Final = re.compile(r"\d{1,2}[.)]\s")
_PAIRS: Final = {"«": "»", "“": "”", "„": "“", "(": ")", "[": "]", '"': '"'}
_CLOSERS: Final = {closer: opener for opener, closer in _PAIRS.items()}

_SENTENCE_END: Final = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s)")
_TOKEN_BEFORE_DOT: Final = re.compile(r"[\w.'-]*$")
_ABBREVIATIONS: Final = frozenset(
    {
        # Russian: «т.е. не печатает», «в г. Москве», «ул. Ленина, д. 5», «500 руб. в месяц»
        "т.е", "т.к", "т.д", "т.п", "т.ч", "т.н", "и.о", "др", "пр", "см", "ср", "напр", "ул",
        "пр-т", "просп", "пер", "кв", "корп", "стр", "эт", "каб", "оф", "пом", "гг", "обл",
        "р-н", "пос", "им", "руб", "коп", "тыс", "млн", "млрд", "шт", "мин", "макс", "сек",
        "тел", "доб", "вкл", "искл", "прим",
        # English
        "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "no", "tel", "ext", "approx",
    }
)  # fmt: skip

_GREETING: Final = re.compile(
    r"(?:здравствуйте|здравствуй|добрый\s+(?:день|вечер)|доброе\s+утро|доброй\s+ночи"
    r"|доброго\s+(?:дня|утра|вечера|времени\s+суток)|приветствую|приветствуем|привет"
    r"|hello|hi|hey|good\s+(?:morning|afternoon|evening))"
    r"(?:\s+(?:всем|все|коллеги|друзья))?"
    r"(?=[\s,!.]|$)[\s,!.]*",
    re.IGNORECASE,
)
_ADDRESSEE: Final = re.compile(
    r"(?:(?i:(?:уважаемые\s+)?(?:коллеги|друзья|все|всем|команда|поддержка))"
    r"|(?:[A-ZА-ЯЁ][\w'-]*\.?\s*){1,3})[\s!.]*"
)
"""Whom a greeting addresses: «коллеги», or up to three capitalised words («Иван Петрович»)."""


def make_title(
    text: str | None,
    *,
    attachment_kind: str | None = None,
    attachment_name: str | None = None,
    max_length: int = 80,
) -> str:
    """Title of a ticket created from one client message.

    ``attachment_kind`` is the Telegram content type of the message's attachment (``photo``,
    ``document``, ``voice``, … as in aiogram's ``ContentType``) and ``attachment_name`` its file
    name; both are used only when the text gives no title. The result is never empty, has no
    line breaks, control characters or surrounding whitespace, and is at most ``max_length``
    characters long (at least :data:`MIN_TITLE_LENGTH`).
    """
    if max_length < MIN_TITLE_LENGTH:
        msg = f"max_length must be at least {MIN_TITLE_LENGTH}, got {max_length}"
        raise ValueError(msg)
    subject = _subject(text or "")
    if subject:
        return _fit(subject, max_length)
    return _attachment_title(attachment_kind, attachment_name, max_length)


def _subject(text: str) -> str:
    """The first sentence of the text that is neither noise nor a greeting, cleaned."""
    for line in unicodedata.normalize("NFC", text).splitlines():
        for sentence in _sentences(_strip_leading_noise(_drop_invisible(line))):
            subject = _clean_subject(sentence)
            if subject:
                return subject
    return ""


def _drop_invisible(text: str) -> str:
    """Drop control and format characters, except whitespace (it separates words)."""
    return "".join(
        ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )


def _sentences(line: str) -> Iterator[str]:
    """The sentences of one line; a dot after an abbreviation or an initial ends none."""
    start = 0
    for match in _SENTENCE_END.finditer(line):
        single_dot = match.group().startswith(".") and match.group().count(".") == 1
        if single_dot and _is_abbreviation(line[start : match.start()]):
            continue
        yield line[start : match.end()]
        start = match.end()
    yield line[start:]


def _is_abbreviation(text_before_dot: str) -> bool:
    """Whether a dot right after this text marks an abbreviation or an initial."""
    match = _TOKEN_BEFORE_DOT.search(text_before_dot)
    token = match.group().strip(".'-").lower() if match else ""
    return (len(token) == 1 and token.isalpha()) or token in _ABBREVIATIONS


def _clean_subject(sentence: str) -> str:
    """Collapse whitespace, strip noise at both ends and any greeting in front."""
    subject = " ".join(sentence.split())
    greeted = False
    while True:
        stripped = _strip_trailing_noise(_strip_leading_noise(subject))
        without_greeting = _strip_greeting(stripped)
        greeted = greeted or without_greeting != stripped
        if without_greeting == subject:
            break
        subject = without_greeting
    if greeted and subject and len(subject[0].upper()) == 1:
        subject = subject[0].upper() + subject[1:]
    return subject


def _is_noise_symbol(ch: str) -> bool:
    return ch not in _KEPT_SYMBOLS and unicodedata.category(ch) in _NOISE_SYMBOL_CATEGORIES


def _strip_leading_noise(text: str) -> str:
    start = 0
    while start < len(text):
        ch = text[start]
        removable = (
            ch.isspace()
            or ch in _LEADING_PUNCTUATION
            or _is_noise_symbol(ch)
            or _is_unpaired_opener(text[start:])
        )
        if removable:
            start += 1
        elif list_number := _LIST_NUMBER.match(text, start):
            start = list_number.end()
        else:
            break
    return text[start:]


def _strip_trailing_noise(text: str) -> str:
    end = len(text)
    while end:
        ch = text[end - 1]
        removable = (
            ch.isspace()
            or ch in _TRAILING_PUNCTUATION
            or _is_noise_symbol(ch)
            or (ch == "." and not _is_abbreviation(text[: end - 1]))
            or _is_unpaired_closer(text[:end])
        )
        if removable:
            end -= 1
        else:
            break
    return text[:end]


def _is_unpaired_opener(text: str) -> bool:
    """Whether the text starts with an opening quote or bracket that nothing closes.

    In a text cut short with «…» the closer may have been cut off: the opener stays.
    """
    closer = _PAIRS.get(text[0])
    return (
        closer is not None and not text.endswith(ELLIPSIS) and _unbalanced(text[0], closer, text)
    )


def _is_unpaired_closer(text: str) -> bool:
    """Whether the text ends with a closing quote or bracket that nothing opened."""
    opener = _CLOSERS.get(text[-1])
    return opener is not None and _unbalanced(opener, text[-1], text)


def _unbalanced(opener: str, closer: str, text: str) -> bool:
    if opener == closer:
        return text.count(opener) % 2 == 1
    return text.count(opener) != text.count(closer)


def _strip_greeting(text: str) -> str:
    """Text without a greeting in front; empty when it is only a greeting (and an addressee)."""
    greeting = _GREETING.match(text)
    if greeting is None:
        return text
    rest = text[greeting.end() :]
    return "" if _ADDRESSEE.fullmatch(rest) else rest


def _fit(text: str, max_length: int) -> str:
    """Cut at the last word boundary so that the text and a trailing «…» fit."""
    if len(text) <= max_length:
        return text
    room = max_length - len(ELLIPSIS)
    boundary = text.rfind(" ", 0, room + 1)
    if boundary > 0:
        head = _strip_trailing_noise(text[:boundary])
        if head:
            return head + ELLIPSIS
    return text[:room] + ELLIPSIS


def _attachment_title(kind: str | None, name: str | None, max_length: int) -> str:
    if kind is None:
        plain, label = _NO_ATTACHMENT
    else:
        plain, label = _ATTACHMENT_TITLES.get(kind, _OTHER_ATTACHMENT)
    file_name = " ".join(_drop_invisible(name or "").split())
    if label and file_name:
        prefix = f"{label}: "
        room = max_length - len(prefix)
        if room >= _MIN_FILE_NAME_ROOM:
            return prefix + _shorten_file_name(file_name, room)
    return _fit(plain, max_length)


def _shorten_file_name(name: str, room: int) -> str:
    """Cut a file name to ``room`` characters, keeping its extension: «очень-дли….pdf»."""
    if len(name) <= room:
        return name
    stem, dot, extension = name.rpartition(".")
    keep = room - len(ELLIPSIS) - len(dot) - len(extension)
    if dot and stem and len(extension) <= 8 and keep >= 3:
        return f"{stem[:keep]}{ELLIPSIS}{dot}{extension}"
    return name[: room - len(ELLIPSIS)] + ELLIPSIS
