import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okdesk_bot.domain.errors import (
    DomainError,
    InvalidInnError,
    InvalidNameError,
    InvalidPhoneError,
)
from okdesk_bot.domain.identity import (
    MAX_NAME_LENGTH,
    PersonName,
    inn_kind,
    normalize_phone,
    parse_full_name,
    phone_search_variants,
    validate_inn,
)

# -- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+79991234567",
        "+7 999 123-45-67",
        "+7 (999) 123-45-67",
        "89991234567",
        "8 (999) 123 45 67",
        "8-999-123-45-67",
        "7 999 1234567",
        "79991234567",
        "9991234567",
        "  +7 999 123 45 67  ",
    ],
)
def test_russian_numbers_are_normalised_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+79991234567"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("+380 50 123 4567", "+380501234567"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+7 701 123 4567", "+77011234567"),
        ("380501234567", "+380501234567"),
        ("8 (495) 123-45-67", "+74951234567"),
        ("8 800 555-35-35", "+78005553535"),
    ],
)
def test_landlines_and_foreign_numbers_are_normalised(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


def test_the_default_region_reads_national_numbers() -> None:
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "not_a_number"),
        ("   ", "not_a_number"),
        ("abc", "not_a_number"),
        ("1-800-FLOWERS", "not_a_number"),
        ("+7 999 123-45-67 доб. 12", "not_a_number"),
        ("+7 999 123 45 67, звоните", "not_a_number"),
        ("٨٩٩٩١٢٣٤٥٦٧", "not_a_number"),
        ("8 999 123 45 6+7", "not_a_number"),
        ("12345", "too_short"),
        ("+7 999", "too_short"),
        ("8 999 123 45", "too_short"),
        ("999123456789012", "too_long"),
        ("+7 999 123 45 67 89 01 23", "too_long"),
        ("+0 123 456 789", "invalid"),
        ("11111111111", "invalid"),
        ("+7 000 000 00 00", "invalid"),
    ],
)
def test_bad_numbers_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneError) as caught:
        normalize_phone(raw)

    assert caught.value.reason == reason


def test_russian_search_variants_start_with_the_likeliest_forms() -> None:
    variants = phone_search_variants("+79991234567")

    assert variants[:7] == [
        "+79991234567",
        "79991234567",
        "89991234567",
        "+7 (999) 123-45-67",
        "+7 999 123-45-67",
        "8 (999) 123-45-67",
        "9991234567",
    ]
    assert "+7(999)123-45-67" in variants
    assert "8 999 123 45 67" in variants
    assert len(variants) == len(set(variants))


def test_foreign_search_variants_use_the_country_formats() -> None:
    assert phone_search_variants("+442079460958") == [
        "+442079460958",
        "442079460958",
        "+44 20 7946 0958",
        "020 7946 0958",
        "02079460958",
        "2079460958",
    ]
    assert phone_search_variants("+16502530000") == [
        "+16502530000",
        "16502530000",
        "+1 650-253-0000",
        "(650) 253-0000",
        "6502530000",
    ]


def test_search_variants_of_a_bad_number_are_refused() -> None:
    with pytest.raises(InvalidPhoneError):
        phone_search_variants("+7 999")


@settings(max_examples=100, deadline=None)
@given(
    code=st.sampled_from(["916", "926", "999", "903", "495", "812"]),
    subscriber=st.integers(0, 9_999_999),
)
def test_every_form_of_a_russian_number_normalises_to_the_same_e164(
    code: str, subscriber: int
) -> None:
    national = f"{code}{subscriber:07d}"
    e164 = f"+7{national}"

    variants = phone_search_variants(e164)

    assert variants[0] == e164
    assert len(variants) == len(set(variants))
    assert {normalize_phone(variant) for variant in variants} == {e164}


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Иванов Иван Иванович", PersonName("Иванов", "Иван", "Иванович")),
        ("Иванов Иван", PersonName("Иванов", "Иван")),
        ("  Иванов   Иван\tИванович ", PersonName("Иванов", "Иван", "Иванович")),
        ("иванов иван", PersonName("Иванов", "Иван")),
        ("ИВАНОВ ИВАН ИВАНОВИЧ", PersonName("Иванов", "Иван", "Иванович")),
        ("Мамедов Али Гусейн оглы", PersonName("Мамедов", "Али", "Гусейн оглы")),
        ("мамедов али гусейн оглы", PersonName("Мамедов", "Али", "Гусейн оглы")),
        ("Алиева Лейла Расул кызы", PersonName("Алиева", "Лейла", "Расул кызы")),
        ("Иванова-Петрова Анна", PersonName("Иванова-Петрова", "Анна")),
        ("иванова-петрова анна", PersonName("Иванова-Петрова", "Анна")),
        ("Иванова – Петрова Анна", PersonName("Иванова-Петрова", "Анна")),
        ("Мак-Кой Леонард", PersonName("Мак-Кой", "Леонард")),
        ("ДеВито Дэнни", PersonName("ДеВито", "Дэнни")),
        ("о’нил шон", PersonName("О'Нил", "Шон")),
        ("Д'Артаньян Шарль", PersonName("Д'Артаньян", "Шарль")),
        ("шевченко мар'яна", PersonName("Шевченко", "Мар'яна")),
        ("Smith John", PersonName("Smith", "John")),
        ("Иванов И. И.", PersonName("Иванов", "И.", "И.")),
        ("Иванов И.И.", PersonName("Иванов", "И.", "И.")),
        ("Иванов Иван.", PersonName("Иванов", "Иван")),
        ("Ли Ян", PersonName("Ли", "Ян")),
        ("Ёлкин Пётр", PersonName("Ёлкин", "Пётр")),
    ],
)
def test_full_names_are_split_in_russian_order(raw: str, name: PersonName) -> None:
    assert parse_full_name(raw) == name


def test_the_full_name_joins_the_parts() -> None:
    assert PersonName("Иванов", "Иван", "Иванович").full == "Иванов Иван Иванович"
    assert PersonName("Иванов", "Иван").full == "Иванов Иван"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("Иванов", "one_word"),
        ("иван", "one_word"),
        ("", "too_short"),
        ("   ", "too_short"),
        ("А Б", "too_short"),
        ("Иванов И", "too_short"),
        ("И. Иванов", "too_short"),
        ("Иванов Иван2", "bad_characters"),
        ("Иванов Иван 😀", "bad_characters"),
        ("Иванов_Иван Петрович", "bad_characters"),
        ("Иванов @ivan", "bad_characters"),
        ("Иванов, Иван", "bad_characters"),
        ("--- ---", "bad_characters"),
        ("Иванов- Иван-", "bad_characters"),
        ("Иванов ''", "bad_characters"),
        ("Иванов Иван Иванович Петрович Сидорович Ещё", "too_long"),
        ("Иванов " + "и" * MAX_NAME_LENGTH, "too_long"),
    ],
)
def test_bad_names_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        parse_full_name(raw)

    assert caught.value.reason == reason


name_words = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"),
    st.text(alphabet="абвгдежзиклмнопрстуфхцчшщыэюя", min_size=1, max_size=12),
)


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(name_words, min_size=2, max_size=3))
def test_a_parsed_name_parses_to_itself(parts: list[str]) -> None:
    name = parse_full_name(" ".join(parts))

    assert name.full == " ".join(parts)
    assert parse_full_name(name.full) == name
    assert parse_full_name(name.full.lower()) == name
    assert parse_full_name(name.full.upper()) == name


# -- INN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "inn", "kind"),
    [
        ("7707083893", "7707083893", "legal"),
        ("7736207543", "7736207543", "legal"),
        (" 7707 083 893 ", "7707083893", "legal"),
        ("500100732259", "500100732259", "individual_entrepreneur"),
    ],
)
def test_valid_inns_are_accepted(raw: str, inn: str, kind: str) -> None:
    assert validate_inn(raw) == inn
    assert inn_kind(inn) == kind


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "length"),
        ("123", "length"),
        ("77070838931", "length"),
        ("7707083893123", "length"),
        ("abc", "not_digits"),
        ("7707-083-893", "not_digits"),
        ("ИНН 7707083893", "not_digits"),
        ("٧٧٠٧٠٨٣٨٩٣", "not_digits"),
        ("７７０７０８３８９３", "not_digits"),
        ("7707083894", "checksum"),
        ("500100732258", "checksum"),
    ],
)
def test_bad_inns_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInnError) as caught:
        validate_inn(raw)

    assert caught.value.reason == reason


def test_the_kind_of_an_inn_of_another_length_is_refused() -> None:
    with pytest.raises(InvalidInnError):
        inn_kind("123")


# -- errors ------------------------------------------------------------------------------------


def test_errors_never_reveal_the_rejected_value() -> None:
    with pytest.raises(InvalidPhoneError) as phone:
        normalize_phone("+7 999 12")
    with pytest.raises(InvalidNameError) as name:
        parse_full_name("Секретов")
    with pytest.raises(InvalidInnError) as inn:
        validate_inn("7707083894")

    for caught, secret in ((phone, "999"), (name, "Секретов"), (inn, "7707083894")):
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)
        assert isinstance(caught.value, DomainError)
        assert isinstance(caught.value, ValueError)
    assert repr(phone.value) == "InvalidPhoneError(reason='too_short')"
