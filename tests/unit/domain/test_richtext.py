import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okdesk_bot.domain.richtext import (
    TELEGRAM_MESSAGE_LIMIT,
    okdesk_html_to_telegram,
    plain_text,
    split_message,
    telegram_text_length,
    telegram_to_okdesk_html,
)

TELEGRAM_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote"}


class TagChecker(HTMLParser):
    """Records Telegram nesting violations and unbalanced tags in Telegram HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.errors.append(f"unsupported <{tag}>")
        if any(open_tag in ("code", "pre") for open_tag in self.stack):
            self.errors.append(f"<{tag}> inside code")
        if tag in ("code", "pre") and set(self.stack) & {"b", "i", "u", "s", "a"}:
            self.errors.append(f"<{tag}> inside formatting")
        if tag in ("a", "blockquote") and tag in self.stack:
            self.errors.append(f"nested <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}>")
        else:
            self.stack.pop()


def tag_errors(telegram_html: str) -> list[str]:
    checker = TagChecker()
    checker.feed(telegram_html)
    checker.close()
    return checker.errors + [f"unclosed <{tag}>" for tag in checker.stack]


MARKUP = re.compile(r'</?(?:b|i|u|s|code|pre|blockquote)>|<a href="[^"<>]*">|</a>')


def assert_valid_telegram_html(telegram_html: str) -> None:
    assert tag_errors(telegram_html) == []
    text = MARKUP.sub("", telegram_html)
    assert "<" not in text
    assert ">" not in text
    assert re.search(r"&(?!amp;|lt;|gt;|quot;)", text) is None


# -- okdesk_html_to_telegram -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("okdesk", "telegram"),
    [
        (
            "<p>Здравствуйте!</p><p>Принтер <b>заменён</b>.</p>",
            "Здравствуйте!\n\nПринтер <b>заменён</b>.",
        ),
        ("<div>Строка 1</div><div>Строка 2</div>", "Строка 1\nСтрока 2"),
        ("<div>Строка 1</div><div><br></div><div>Строка 2</div>", "Строка 1\n\nСтрока 2"),
        ("раз</br>два<br/>три<br>четыре", "раз\nдва\nтри\nчетыре"),
        ("a<br><br><br><br>b", "a\n\nb"),
        ("<p>a</p><p></p><p> </p><br><p>b</p>", "a\n\nb"),
        (
            "<strong>b</strong> <em>i</em> <u>u</u> <ins>u</ins>",
            "<b>b</b> <i>i</i> <u>u</u> <u>u</u>",
        ),
        ("<s>s</s> <del>d</del> <strike>x</strike>", "<s>s</s> <s>d</s> <s>x</s>"),
        ("<h2>Итоги</h2>текст", "<b>Итоги</b>\n\nтекст"),
        ("<p>  много   пробелов\n и\tпереносов  </p>", "много пробелов и переносов"),
        ("a&nbsp;&nbsp;&nbsp;b", "a b"),
        (
            "<span style='color:red'>красный</span> <font>шрифт</font> <x-custom>тег</x-custom>",
            "красный шрифт тег",
        ),
        ("<b></b><i> </i>текст<a href='https://x.ru'></a>", "текст"),
        ("", ""),
        ("<p><br></p>", ""),
    ],
)
def test_okdesk_html_becomes_telegram_html(okdesk: str, telegram: str) -> None:
    assert okdesk_html_to_telegram(okdesk) == telegram


def test_entities_are_decoded_and_text_is_escaped_again() -> None:
    converted = okdesk_html_to_telegram(
        "<p>1 &lt; 2 &amp;&amp; 3 &gt; 2 &#128512; &quot;x&quot; &foo;</p>"
    )

    assert converted == '1 &lt; 2 &amp;&amp; 3 &gt; 2 😀 "x" &amp;foo;'


def test_unescaped_specials_in_sloppy_html_are_escaped() -> None:
    assert okdesk_html_to_telegram("if a < b & c > d") == "if a &lt; b &amp; c &gt; d"


def test_scripts_and_styles_vanish_with_their_content() -> None:
    okdesk = "<style>p {color: red}</style><script>alert('<b>x</b>')</script><p>текст</p>"

    assert okdesk_html_to_telegram(okdesk) == "текст"


def test_a_whole_html_document_gives_its_body() -> None:
    okdesk = "<html><head><title>Письмо</title><meta charset=utf-8><body><p>текст</p></body>"

    assert okdesk_html_to_telegram(okdesk) == "текст"


def test_lists_become_marked_lines() -> None:
    okdesk = (
        "<p>Шаги:</p><ol><li>Выключить</li><li><p>Включить</p></li></ol>"
        "<ul><li>один<ul><li>вложенный</li></ul></li><li>два</li></ul>"
        '<ol start="5"><li>пятый</li></ol>'
    )

    assert okdesk_html_to_telegram(okdesk) == (
        "Шаги:\n\n1. Выключить\n2. Включить\n• один\n  • вложенный\n• два\n5. пятый"
    )


def test_an_empty_list_item_leaves_no_marker() -> None:
    assert okdesk_html_to_telegram("<ul><li>один</li><li> </li></ul><p>текст</p>") == (
        "• один\n\nтекст"
    )


def test_tables_become_readable_lines() -> None:
    okdesk = (
        "<p>Смета:</p><table><thead><tr><th>Работа</th><th>Цена</th></tr></thead>"
        "<tbody><tr><td><p>Замена</p><p>картриджа</p></td><td>500</td></tr>"
        "<tr><td>Выезд<td>1000</tr><tr><td>Скидка</td><td></td></tr>"
        "<tr><td></td><td>-10%</td></tr></tbody></table><p>Итого 1500</p>"
    )

    assert okdesk_html_to_telegram(okdesk) == (
        "Смета:\n\n<b>Работа</b> | <b>Цена</b>\nЗамена картриджа | 500\nВыезд | 1000\n"
        "Скидка\n-10%\n\nИтого 1500"
    )


def test_images_become_their_alt_text_or_a_placeholder() -> None:
    okdesk = '<p>Смотрите<img src="a.png" alt=" Схема  сети ">и<img src="b.png"></p>'

    assert okdesk_html_to_telegram(okdesk) == "Смотрите [Схема сети] и [изображение]"


@pytest.mark.parametrize(
    ("okdesk", "telegram"),
    [
        (
            '<a href="https://example.com/a?b=1&amp;c=2">сайт</a>',
            '<a href="https://example.com/a?b=1&amp;c=2">сайт</a>',
        ),
        (
            '<a href="http://x.ru/say&quot;hi&quot;">x</a>',
            '<a href="http://x.ru/say&quot;hi&quot;">x</a>',
        ),
        (
            '<a href="mailto:help@example.com">почта</a>',
            '<a href="mailto:help@example.com">почта</a>',
        ),
        (
            '<a href="tg://resolve?domain=support">бот</a>',
            '<a href="tg://resolve?domain=support">бот</a>',
        ),
        ('<a href="javascript:alert(1)">клик</a>', "клик"),
        ('<a href="/issues/5">заявка</a>', "заявка"),
        ('<a href="https://">пусто</a>', "пусто"),
        ("<a>без ссылки</a>", "без ссылки"),
        (
            '<a href="https://a.ru">внешняя <a href="https://b.ru">внутренняя</a></a>',
            '<a href="https://a.ru">внешняя внутренняя</a>',
        ),
    ],
)
def test_only_safe_links_are_kept(okdesk: str, telegram: str) -> None:
    assert okdesk_html_to_telegram(okdesk) == telegram


def test_preformatted_text_keeps_its_lines_and_indentation() -> None:
    okdesk = "<pre><code>\ndef f():\n    return 1 &lt; 2\n</code></pre><p>после</p>"

    assert okdesk_html_to_telegram(okdesk) == "<pre>def f():\n    return 1 &lt; 2</pre>\n\nпосле"


def test_nothing_is_formatted_inside_code() -> None:
    okdesk = "<b>жирный <code>код <i>не курсив</i></code> снова</b>"

    converted = okdesk_html_to_telegram(okdesk)

    assert converted == "<b>жирный</b> <code>код не курсив</code> <b>снова</b>"


def test_code_inside_a_quote_keeps_the_quote() -> None:
    okdesk = "<blockquote>Ошибка: <code>E42</code></blockquote>Ответ"

    assert (
        okdesk_html_to_telegram(okdesk)
        == "<blockquote>Ошибка: <code>E42</code></blockquote>\nОтвет"
    )


def test_nested_quotes_are_flattened() -> None:
    okdesk = "<blockquote><p>цитата</p><blockquote>вложенная</blockquote></blockquote>ответ"

    assert okdesk_html_to_telegram(okdesk) == "<blockquote>цитата\n\nвложенная</blockquote>\nответ"


def test_misnested_and_unclosed_tags_are_balanced() -> None:
    assert okdesk_html_to_telegram("<b><i>x</b>y</i>") == "<b><i>x</i></b><i>y</i>"
    assert okdesk_html_to_telegram("<p><b>жирный</p><p>дальше") == "<b>жирный\n\nдальше</b>"
    assert okdesk_html_to_telegram("</b>текст</i>") == "текст"


okdesk_fragments = st.sampled_from(
    [
        "<p>", "</p>", "<div>", "</div>", "<br>", "</br>", "<br/>", "<b>", "</b>", "<strong>",
        "</strong>", "<i>", "</i>", "<em>", "</em>", "<u>", "</u>", "<s>", "</s>", "<del>",
        "</del>", "<code>", "</code>", "<pre>", "</pre>", "<blockquote>", "</blockquote>",
        "<ul>", "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<table>", "<tr>", "<td>", "</td>",
        "<th>", "</th>", "</tr>", "</table>", '<a href="https://ex.com/?a=1&amp;b=2">', "</a>",
        '<a href="javascript:x">', '<img alt="pic">', "<img>", "<script>", "</script>",
        "<style>", "</style>", "<span>", "</span>", "<h1>", "</h1>", "&amp;", "&lt;", "&gt;",
        "&nbsp;", "&quot;", "&#128512;", "&bogus;", "<", ">", "&", "\n", "  ", "\t",
    ]
)  # fmt: skip
okdesk_html = st.lists(okdesk_fragments | st.text(max_size=8), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(okdesk_html)
def test_any_okdesk_html_gives_valid_telegram_html(okdesk: str) -> None:
    converted = okdesk_html_to_telegram(okdesk)

    assert_valid_telegram_html(converted)
    assert "\n\n\n" not in converted
    assert plain_text(converted) == plain_text(converted).strip()


# -- plain_text and telegram_text_length -------------------------------------------------------


def test_plain_text_drops_tags_and_decodes_entities() -> None:
    telegram = '<b>a &amp; b</b> &lt;c&gt; <a href="https://x.ru">ссылка</a> &quot;q&quot;'

    assert plain_text(telegram) == 'a & b <c> ссылка "q"'


@pytest.mark.parametrize(
    ("telegram", "length"),
    [
        ("", 0),
        ("<b>жирный</b>", 6),
        ("&lt;&amp;&gt;", 3),
        ("😀", 2),
        ("a😀b", 4),
        ('<a href="https://very.long/url">x</a>', 1),
    ],
)
def test_length_counts_utf16_units_of_the_parsed_text(telegram: str, length: int) -> None:
    assert telegram_text_length(telegram) == length


# -- split_message -----------------------------------------------------------------------------


def test_a_short_message_is_one_chunk() -> None:
    assert split_message("<b>Привет</b>, мир") == ["<b>Привет</b>, мир"]


def test_blank_text_gives_no_chunks() -> None:
    assert split_message("") == []
    assert split_message(" \n\n <b> </b>") == []


def test_splits_prefer_paragraphs_then_lines_then_sentences_then_spaces() -> None:
    assert split_message("Первый абзац тут.\n\nВторой абзац. Ещё", limit=32) == [
        "Первый абзац тут.",
        "Второй абзац. Ещё",
    ]
    assert split_message("Строка первая\nСтрока вторая тут", limit=26) == [
        "Строка первая",
        "Строка вторая тут",
    ]
    assert split_message("Первое предложение. Второе тоже", limit=28) == [
        "Первое предложение.",
        "Второе тоже",
    ]
    assert split_message("слово слово слово", limit=12) == ["слово слово", "слово"]


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert split_message("абвгдежзий", limit=4) == ["абвг", "дежз", "ий"]


def test_an_entity_is_never_cut() -> None:
    chunks = split_message("&amp;" * 7, limit=3)

    assert chunks == ["&amp;&amp;&amp;", "&amp;&amp;&amp;", "&amp;"]


def test_formatting_is_closed_and_reopened_across_chunks() -> None:
    telegram = '<b>жирное <a href="https://x.ru/?a=1&amp;b=2">длинная ссылка</a> конец</b>'

    assert split_message(telegram, limit=16) == [
        '<b>жирное <a href="https://x.ru/?a=1&amp;b=2">длинная</a></b>',
        '<b><a href="https://x.ru/?a=1&amp;b=2">ссылка</a> конец</b>',
    ]


def test_a_code_block_keeps_its_language_in_every_chunk() -> None:
    telegram = '<pre><code class="language-python">x = 1\ny = 2</code></pre>'

    assert split_message(telegram, limit=6) == [
        '<pre><code class="language-python">x = 1</code></pre>',
        '<pre><code class="language-python">y = 2</code></pre>',
    ]


def test_emoji_count_as_two_units() -> None:
    chunks = split_message("😀" * 3000)

    assert [telegram_text_length(chunk) for chunk in chunks] == [4096, 6000 - 4096]


def test_a_long_comment_fits_telegram_after_splitting() -> None:
    paragraph = "Проверили сеть. " * 30
    telegram = "\n\n".join(f"<b>Шаг {n}</b>: {paragraph}" for n in range(40))

    chunks = split_message(telegram)

    assert len(chunks) > 1
    assert all(telegram_text_length(chunk) <= TELEGRAM_MESSAGE_LIMIT for chunk in chunks)
    assert all(chunk.startswith("<b>Шаг") for chunk in chunks)


def test_combining_marks_stay_with_their_letter() -> None:
    chunks = split_message("е\u0301" * 5, limit=3)

    assert chunks == ["е\u0301"] * 5


def test_too_small_a_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        split_message("text", limit=1)


text_pieces = st.lists(st.sampled_from([*"ab вгд.!?\n<>&\"'😀", "е\u0301"]), max_size=30).map(
    "".join
)


def allowed_inside(open_tags: frozenset[str]) -> list[str]:
    """The tags Telegram accepts inside the open ones."""
    if open_tags & {"code", "pre"}:
        return []
    allowed = {"b", "i", "u", "s", "a", "blockquote", "code", "pre"} - open_tags
    if open_tags & {"b", "i", "u", "s", "a"}:
        allowed -= {"code", "pre"}
    return sorted(allowed)


@st.composite
def telegram_documents(draw: st.DrawFn, open_tags: frozenset[str] = frozenset()) -> str:
    """Valid Telegram HTML: escaped text in tags nested as Telegram allows."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        allowed = allowed_inside(open_tags)
        if allowed and len(open_tags) < 3 and draw(st.booleans()):
            tag = draw(st.sampled_from(allowed))
            inner = draw(telegram_documents(open_tags | {tag}))
            opening = '<a href="https://x.ru/?q=&quot;1&quot;">' if tag == "a" else f"<{tag}>"
            parts.append(f"{opening}{inner}</{tag}>")
        else:
            parts.append(html.escape(draw(text_pieces), quote=False))
    return "".join(parts)


def reassembles(chunks: list[str], source: str) -> bool:
    """Whether the chunks' texts, in order, make up the source text except for whitespace
    at the cuts."""
    pattern = r"\s*" + r"\s*".join(re.escape(plain_text(chunk)) for chunk in chunks) + r"\s*"
    return re.fullmatch(pattern, plain_text(source)) is not None


@settings(max_examples=300, deadline=None)
@given(telegram=telegram_documents(), limit=st.integers(2, 40))
def test_chunks_fit_are_balanced_and_keep_all_the_text(telegram: str, limit: int) -> None:
    chunks = split_message(telegram, limit=limit)

    for chunk in chunks:
        assert 0 < telegram_text_length(chunk) <= limit
        assert plain_text(chunk).strip()
        assert tag_errors(chunk) == []
    assert reassembles(chunks, telegram)


@settings(max_examples=100, deadline=None)
@given(okdesk=okdesk_html, limit=st.integers(2, 60))
def test_converted_comments_split_into_valid_messages(okdesk: str, limit: int) -> None:
    telegram = okdesk_html_to_telegram(okdesk)

    chunks = split_message(telegram, limit=limit)

    for chunk in chunks:
        assert telegram_text_length(chunk) <= limit
        assert_valid_telegram_html(chunk)
    assert reassembles(chunks, telegram)


# -- telegram_to_okdesk_html -------------------------------------------------------------------


def test_client_text_is_escaped_for_okdesk() -> None:
    text = 'Ошибка <b>500</b> & "кавычки"\r\nвторая строка\nтретья\x00'

    assert telegram_to_okdesk_html(text) == (
        'Ошибка &lt;b&gt;500&lt;/b&gt; &amp; "кавычки"<br>вторая строка<br>третья'
    )
