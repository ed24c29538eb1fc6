"""Who a client is: phone number, full name and the company's taxpayer number (ИНН).

Everything here validates input typed by people (or shared from their Telegram contact card) and
returns canonical values; rejections raise an :class:`~okdesk_bot.domain.errors.InvalidInputError`
subclass whose ``reason`` code selects the text shown to the user.

Phone numbers are parsed by ``phonenumbers`` (Google's libphonenumber metadata, kept current by
its maintainers) and ИНН checksums are checked by ``python-stdnum``: neither is worth
reimplementing.
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult
from stdnum.ru import inn as stdnum_inn

from okdesk_bot.domain.errors import (
    InvalidInnError,
    InvalidNameError,
    InvalidPhoneError,
    PhoneErrorReason,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_NAME_WORDS",
    "InnKind",
    "PersonName",
    "inn_kind",
    "normalize_phone",
    "parse_full_name",
    "phone_search_variants",
    "validate_inn",
]

# ---------------------------------------------------------------------------------------------
# Phones

_PHONE_SHAPE: Final = re.compile(r"\+?[\s\d().-]*")
"""What a typed phone may contain: an optional leading plus, digits, spaces, ``()``, ``-``, ``.``.
Letters are refused rather than read as a keypad word (``1-800-FLOWERS``) or an extension."""

_PARSE_ERROR_REASONS: Final[dict[int, PhoneErrorReason]] = {
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
_POSSIBILITY_REASONS: Final[dict[int, PhoneErrorReason]] = {
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.TOO_LONG: "too_long",
}
_RUSSIAN_PLAN_COUNTRY_CODE: Final = 7
_RUSSIAN_PLAN_NSN_LENGTH: Final = 10


def normalize_phone(raw: str, default_region: str = "RU") -> str:
    """The number in E.164 (``+79991234567``).

    Accepts the usual ways of typing a number: ``+7 999 123-45-67``, ``89991234567``,
    ``8 (999) 123 45 67``, ``7 999 1234567``, ``9991234567`` (national numbers of
    ``default_region``), and foreign numbers with ``+`` or, when they cannot be a national number,
    with their country code but no ``+`` (Telegram's contact card sends ``79991234567``).

    Raises :class:`InvalidPhoneError` with reason ``not_a_number``, ``too_short``, ``too_long``
    or ``invalid`` (the right length, but no such number in the numbering plan).
    """
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if not digits or not digits.isascii() or not _PHONE_SHAPE.fullmatch(text):
        raise InvalidPhoneError("not_a_number")
    number = _parse(text, default_region)
    if not phonenumbers.is_valid_number(number) and not text.startswith("+"):
        with_plus = _try_parse(f"+{digits}")
        if with_plus is not None and phonenumbers.is_valid_number(with_plus):
            number = with_plus
    if not phonenumbers.is_valid_number(number):
        possibility = phonenumbers.is_possible_number_with_reason(number)
        raise InvalidPhoneError(_POSSIBILITY_REASONS.get(possibility, "invalid"))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_search_variants(e164: str) -> list[str]:
    """The forms in which Okdesk may have stored this number, the likeliest first.

    Okdesk matches contact phones as stored strings, and operators type them in many ways. For
    the +7 numbering plan (Russia, Kazakhstan): ``+79991234567``, ``79991234567``,
    ``89991234567``, ``+7 (999) 123-45-67``, ``+7 999 123-45-67``, ``8 (999) 123-45-67``,
    ``9991234567`` and a few spacing variants; for other countries E.164, E.164 without ``+``,
    and ``phonenumbers``' international and national formats. No duplicates.

    Raises :class:`InvalidPhoneError` when ``e164`` is not a valid number.
    """
    number = _parse(normalize_phone(e164), None)
    national = str(number.national_number)
    if (
        number.country_code == _RUSSIAN_PLAN_COUNTRY_CODE
        and len(national) == _RUSSIAN_PLAN_NSN_LENGTH
    ):
        variants = _russian_plan_variants(national)
    else:
        e164_form = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        national_form = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        variants = [
            e164_form,
            e164_form.removeprefix("+"),
            phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
            national_form,
            re.sub(r"\D", "", national_form),
            national,
        ]
    return list(dict.fromkeys(variants))


def _russian_plan_variants(national: str) -> list[str]:
    code, block, pair1, pair2 = national[:3], national[3:6], national[6:8], national[8:]
    dashed = f"{block}-{pair1}-{pair2}"
    return [
        f"+7{national}",
        f"7{national}",
        f"8{national}",
        f"+7 ({code}) {dashed}",
        f"+7 {code} {dashed}",
        f"8 ({code}) {dashed}",
        national,
        f"+7({code}){dashed}",
        f"8({code}){dashed}",
        f"8 {code} {dashed}",
        f"+7 {code} {block} {pair1} {pair2}",
        f"8 {code} {block} {pair1} {pair2}",
    ]


def _parse(text: str, region: str | None) -> PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as error:
        raise InvalidPhoneError(_PARSE_ERROR_REASONS.get(error.error_type, "invalid")) from None


def _try_parse(text: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, None)
    except NumberParseException:
        return None


# ---------------------------------------------------------------------------------------------
# Names

MAX_NAME_WORDS: Final = 5
MAX_NAME_LENGTH: Final = 100

_APOSTROPHES: Final = str.maketrans(dict.fromkeys("’ʼ‘`´", "'"))
_HYPHENS: Final = str.maketrans(dict.fromkeys("‐‑‒–—", "-"))
_NAME_PUNCTUATION: Final = frozenset(" -'.")
_LETTERS: Final = r"[^\W\d_]+"
_NAME_WORD: Final = re.compile(rf"{_LETTERS}(?:['-]{_LETTERS})*\.?")
_PATRONYMIC_SUFFIXES: Final = frozenset(
    {"оглы", "оглу", "улы", "уулу", "кызы", "гызы", "кзы", "ogly", "oglu", "uly", "kyzy", "qizi"}
)


@dataclass(frozen=True, slots=True)
class PersonName:
    """A person's name split as Okdesk stores it: surname, first name, patronymic."""

    last_name: str
    first_name: str
    patronymic: str | None = None

    @property
    def full(self) -> str:
        """«Фамилия Имя Отчество», or «Фамилия Имя» without a patronymic."""
        return " ".join(
            part for part in (self.last_name, self.first_name, self.patronymic) if part
        )


def parse_full_name(raw: str) -> PersonName:
    """Split a typed full name in Russian order: «Фамилия Имя [Отчество]».

    Any script's letters are accepted, with hyphens («Иванова-Петрова»), apostrophes
    («Д'Артаньян», typographic ones become ``'``) and dotted initials («Иванов И. И.», also
    «Иванов И.И.»). Words beyond the third belong to the patronymic, which keeps Turkic
    patronymics whole («Мамедов Али Гусейн оглы»). Case is fixed only when the whole input is
    in one case (``иванов иван`` and ``ИВАНОВ ИВАН`` become «Иванов Иван»); mixed case is kept
    as typed («Мак-Кой», «ДеВито»).

    Raises :class:`InvalidNameError` with reason ``one_word``, ``too_short`` (nothing typed, or
    a one-letter word that is not a dotted initial; the surname must be a whole word),
    ``too_long`` (over :data:`MAX_NAME_WORDS` words or :data:`MAX_NAME_LENGTH` characters) or
    ``bad_characters`` (digits, emoji, other symbols, or a stray hyphen or apostrophe).
    """
    text = _normalize_name_text(raw)
    if not text:
        raise InvalidNameError("too_short")
    if any(not ch.isalpha() and ch not in _NAME_PUNCTUATION for ch in text):
        raise InvalidNameError("bad_characters")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidNameError("too_long")
    words = _name_words(text)
    if len(words) == 1:
        raise InvalidNameError("one_word")
    if len(words) > MAX_NAME_WORDS:
        raise InvalidNameError("too_long")
    if not _is_whole_word(words[0]) or not all(map(_is_word_or_initial, words[1:])):
        raise InvalidNameError("too_short")
    if text.islower() or text.isupper():
        words = [_capitalize_name_word(word) for word in words]
    return PersonName(
        last_name=words[0], first_name=words[1], patronymic=" ".join(words[2:]) or None
    )


def _normalize_name_text(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw).translate(_APOSTROPHES).translate(_HYPHENS)
    text = " ".join(text.split())
    text = re.sub(r" ?- ?", "-", text)  # «Иванова - Петрова»
    return re.sub(r"\.(?=\S)", ". ", text)  # «И.И.» -> «И. И.»


def _name_words(text: str) -> list[str]:
    """The words of a name; a dot is kept only after an initial («И.», not «Иванов.»)."""
    words = text.split()
    if not all(_NAME_WORD.fullmatch(word) for word in words):
        raise InvalidNameError("bad_characters")
    return [word if _letter_count(word) == 1 else word.rstrip(".") for word in words]


def _letter_count(word: str) -> int:
    return sum(ch.isalpha() for ch in word)


def _is_whole_word(word: str) -> bool:
    return _letter_count(word) >= 2


def _is_word_or_initial(word: str) -> bool:
    return _is_whole_word(word) or word.endswith(".")


def _capitalize_name_word(word: str) -> str:
    """«иванова-петрова» -> «Иванова-Петрова», «о'нил» -> «О'Нил», «мар'яна» -> «Мар'яна»."""
    parts = re.split(r"([-'])", word.lower())
    result: list[str] = []
    for index, part in enumerate(parts):
        after_apostrophe = index > 0 and parts[index - 1] == "'"
        keeps_lower = part in _PATRONYMIC_SUFFIXES or (
            after_apostrophe and len(parts[index - 2]) > 1
        )
        result.append(part if keeps_lower else part[:1].upper() + part[1:])
    return "".join(result)


# ---------------------------------------------------------------------------------------------
# INN

InnKind: TypeAlias = Literal["legal", "individual_entrepreneur"]

_LEGAL_INN_LENGTH: Final = 10
_PERSONAL_INN_LENGTH: Final = 12


def validate_inn(raw: str) -> str:
    """The ИНН as 10 (organisation) or 12 (individual entrepreneur) ASCII digits.

    Spaces are ignored. Raises :class:`InvalidInnError` with reason ``not_digits`` (anything but
    ASCII digits: letters, dashes, Arabic-Indic or full-width digits), ``length`` (not 10 or 12
    digits) or ``checksum`` (the control digits do not match, usually a typo).
    """
    inn = "".join(raw.split())
    if not inn:
        raise InvalidInnError("length")
    if not (inn.isascii() and inn.isdigit()):
        raise InvalidInnError("not_digits")
    if len(inn) not in (_LEGAL_INN_LENGTH, _PERSONAL_INN_LENGTH):
        raise InvalidInnError("length")
    if not _inn_checksum_matches(inn):
        raise InvalidInnError("checksum")
    return inn


def inn_kind(inn: str) -> InnKind:
    """``legal`` for a 10-digit ИНН, ``individual_entrepreneur`` for a 12-digit one."""
    if len(inn) == _LEGAL_INN_LENGTH:
        return "legal"
    if len(inn) == _PERSONAL_INN_LENGTH:
        return "individual_entrepreneur"
    raise InvalidInnError("length")


def _inn_checksum_matches(digits: str) -> bool:
    """Check digits by ``stdnum.ru.inn`` (its lengths and digits are already checked)."""
    is_valid: bool = stdnum_inn.is_valid(digits)
    return is_valid
