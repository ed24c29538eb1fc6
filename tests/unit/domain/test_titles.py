import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from okdesk_bot.domain.titles import ELLIPSIS, GENERIC_TITLE, MIN_TITLE_LENGTH, make_title

CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
GREETING_WORDS = {"привет", "приветствую", "приветствуем", "здравствуй", "здравствуйте"}


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Не печатает принтер в 305 кабинете. Срочно!", "Не печатает принтер в 305 кабинете"),
        ("Не работает почта\nУже второй день", "Не работает почта"),
        ("Почему не работает почта? Уже час жду", "Почему не работает почта?"),
        ("Сломался сканер! Помогите", "Сломался сканер!"),
        ("Не грузится… Вторую неделю", "Не грузится…"),
        ("Кабинет 5. Нет интернета", "Кабинет 5"),
        ("Ёлка на ресепшене не горит", "Ёлка на ресепшене не горит"),
    ],
)
def test_first_sentence_or_first_line(text: str, title: str) -> None:
    assert make_title(text) == title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "Не печатает, т.е. вообще ничего. Второе предложение",
            "Не печатает, т.е. вообще ничего",
        ),
        ("В г. Москве нет связи. В Казани есть", "В г. Москве нет связи"),
        ("Звонил А. С. Пушкин по поводу 1С. Перезвоните", "Звонил А. С. Пушкин по поводу 1С"),
        ("Версия 1.5 не запускается. Помогите", "Версия 1.5 не запускается"),
        ("Стоит 1 500 руб. в месяц, дорого. Второе", "Стоит 1 500 руб. в месяц, дорого"),
        (
            "Сайт https://example.com/a.b не открывается. Что делать?",
            "Сайт https://example.com/a.b не открывается",
        ),
        (
            "Не приходят письма на ivan.petrov@mail.ru. Проверьте",
            "Не приходят письма на ivan.petrov@mail.ru",
        ),
        ("Нет доступа к папке, e.g. к общей. Дальше", "Нет доступа к папке, e.g. к общей"),
    ],
)
def test_abbreviations_decimals_urls_and_emails_do_not_end_the_sentence(
    text: str, title: str
) -> None:
    assert make_title(text) == title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("• 😡 Не работает интернет", "Не работает интернет"),
        ("— Не работает VPN:", "Не работает VPN"),
        ("- Не работает VPN -", "Не работает VPN"),
        ("> Не открывается сайт", "Не открывается сайт"),
        ("1. Сломался ноутбук", "Сломался ноутбук"),
        ("2) Сломался ноутбук", "Сломался ноутбук"),
        ("«Не работает интернет»:", "«Не работает интернет»"),
        ('"Ошибка 404" на сайте', '"Ошибка 404" на сайте'),
        ("«Не работает интернет", "Не работает интернет"),
        ("(срочно) не работает", "(срочно) не работает"),
        ("Проблема с 1С:", "Проблема с 1С"),
        ("Не работает принтер,", "Не работает принтер"),
        ("Не работает...", "Не работает"),
        ("Не работает принтер, сканер и т.д.", "Не работает принтер, сканер и т.д."),
        ("Не работает принтер 😡🔥", "Не работает принтер"),
        ("👍", GENERIC_TITLE),
        ("№5 не работает", "№5 не работает"),
        ("+7 999 123-45-67 не дозвониться", "+7 999 123-45-67 не дозвониться"),
        ("---\n\nНе работает почта", "Не работает почта"),
    ],
)
def test_noise_at_the_ends_is_stripped(text: str, title: str) -> None:
    assert make_title(text) == title


def test_whitespace_collapses_and_invisible_characters_vanish() -> None:
    assert make_title("  Не   работает\tпочта  ") == "Не работает почта"
    assert make_title("Не\u200b работает\x07 почта\ufeff") == "Не работает почта"
    assert make_title("\r\nНе работает почта\r\nВторая строка") == "Не работает почта"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Добрый день! Не печатает принтер.", "Не печатает принтер"),
        ("Здравствуйте, у нас не работает 1С", "У нас не работает 1С"),
        ("Здравствуйте у нас не работает 1С", "У нас не работает 1С"),
        ("Здравствуйте, коллеги!\nНе работает почта", "Не работает почта"),
        ("Добрый день, Иван Петрович! Не работает почта", "Не работает почта"),
        ("Привет всем, отвалился VPN", "Отвалился VPN"),
        ("Hello! VPN is down", "VPN is down"),
        ("Hi-Fi колонка не работает", "Hi-Fi колонка не работает"),
    ],
)
def test_greetings_are_skipped(text: str, title: str) -> None:
    assert make_title(text) == title


def test_a_greeting_alone_is_no_title() -> None:
    assert make_title("Здравствуйте!") == GENERIC_TITLE
    assert make_title("Добрый день!", attachment_kind="photo") == "Фото от клиента"


def test_long_text_is_cut_at_a_word_boundary() -> None:
    text = "Не работает принтер в бухгалтерии на третьем этаже, и сканер тоже, и факс"

    assert make_title(text, max_length=40) == "Не работает принтер в бухгалтерии на…"
    assert make_title("Не работает принтер, и сканер", max_length=25) == "Не работает принтер, и…"


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert make_title("а" * 100) == "а" * 79 + ELLIPSIS
    assert make_title("Не работает https://example.com/" + "x" * 100, max_length=40) == (
        "Не работает…"
    )


def test_too_small_a_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_length"):
        make_title("Не работает", max_length=MIN_TITLE_LENGTH - 1)


@pytest.mark.parametrize(
    ("kind", "name", "title"),
    [
        (None, None, GENERIC_TITLE),
        ("photo", None, "Фото от клиента"),
        ("photo", "IMG_001.jpg", "Фото от клиента"),
        ("document", "invoice.pdf", "Документ: invoice.pdf"),
        ("document", None, "Документ от клиента"),
        ("document", "  ", "Документ от клиента"),
        ("voice", None, "Голосовое сообщение"),
        ("video_note", None, "Видеосообщение"),
        ("video", "запись.mp4", "Видео: запись.mp4"),
        ("audio", "звонок.mp3", "Аудио: звонок.mp3"),
        ("sticker", None, "Стикер от клиента"),
        ("dice", None, "Вложение от клиента"),
        (None, "a.txt", "Файл: a.txt"),
        ("document", "отчёт\nза\x00май.xlsx", "Документ: отчёт замай.xlsx"),
    ],
)
def test_without_text_the_title_describes_the_attachment(
    kind: str | None, name: str | None, title: str
) -> None:
    assert make_title(None, attachment_kind=kind, attachment_name=name) == title
    assert make_title("  \n ", attachment_kind=kind, attachment_name=name) == title


def test_a_long_file_name_is_cut_keeping_its_extension() -> None:
    name = "Акт сверки за 2024 год (финальная версия, подписанная).pdf"

    title = make_title(None, attachment_kind="document", attachment_name=name, max_length=40)

    assert title == "Документ: Акт сверки за 2024 год (ф….pdf"
    assert len(title) == 40


def test_a_file_name_without_room_is_left_out() -> None:
    title = make_title(None, attachment_kind="document", attachment_name="x.pdf", max_length=12)

    assert title == "Документ от…"


def test_text_wins_over_the_attachment() -> None:
    assert make_title("Не работает", attachment_kind="photo") == "Не работает"


# -- properties --------------------------------------------------------------------------------

attachment_kinds = st.sampled_from([None, "photo", "document", "voice", "dice"])
attachment_names = st.none() | st.text(max_size=120)


@settings(max_examples=300, deadline=None)
@given(
    text=st.none() | st.text(max_size=300),
    kind=attachment_kinds,
    name=attachment_names,
    max_length=st.integers(MIN_TITLE_LENGTH, 120),
)
def test_a_title_is_always_a_short_clean_single_line(
    text: str | None, kind: str | None, name: str | None, max_length: int
) -> None:
    title = make_title(text, attachment_kind=kind, attachment_name=name, max_length=max_length)

    assert 0 < len(title) <= max_length
    assert title == title.strip()
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in title)
    assert "\n" not in title


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), max_length=st.integers(MIN_TITLE_LENGTH, 120))
def test_the_title_of_a_title_is_itself(text: str, max_length: int) -> None:
    title = make_title(text, max_length=max_length)

    assert make_title(title, max_length=max_length) == title


words = st.text(alphabet=CYRILLIC + "0123456789", min_size=1, max_size=30)
separators = st.text(alphabet=" \t", min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(
    first_line=st.lists(st.tuples(words, separators), min_size=1, max_size=25),
    rest=st.text(max_size=50),
    max_length=st.integers(MIN_TITLE_LENGTH, 120),
)
def test_a_clean_first_line_is_kept_or_cut_at_a_word_boundary(
    first_line: list[tuple[str, str]], rest: str, max_length: int
) -> None:
    assume(first_line[0][0].lower() not in GREETING_WORDS)
    text = "".join(word + separator for word, separator in first_line) + "\n" + rest
    cleaned = " ".join(word for word, _ in first_line)

    title = make_title(text, max_length=max_length)

    if len(cleaned) <= max_length:
        assert title == cleaned
    else:
        head = title.removesuffix(ELLIPSIS)
        assert title.endswith(ELLIPSIS)
        assert cleaned.startswith(head)
        first_word = first_line[0][0]
        if len(first_word) < max_length:
            assert cleaned[len(head)] == " "
        else:
            assert head == cleaned[: max_length - 1]
