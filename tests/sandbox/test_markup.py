"""Telegram HTML parsing: the sandbox must fail exactly where a missing escape would fail on Telegram."""

from __future__ import annotations

import html

import pytest

from sandbox.markup import ParseError, command_entities, parse_html


def test_nested_tags_and_entities_become_plain_text_with_utf16_offsets() -> None:
    text, entities = parse_html(
        '👋 <b>粗 <i>斜</i></b> &lt;&amp;&gt;&quot;&#20320;&#x597d; <a href="https://x.org/?a=1&amp;b=2">l</a>'
    )
    assert text == '👋 粗 斜 <&>"你好 l'
    assert entities == [
        {"type": "bold", "offset": 3, "length": 3},
        {"type": "italic", "offset": 5, "length": 1},
        {"type": "text_link", "offset": 14, "length": 1, "url": "https://x.org/?a=1&b=2"},
    ]


def test_every_supported_tag() -> None:
    source = (
        "<strong>a</strong><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>"
        '<tg-spoiler>h</tg-spoiler><span class="tg-spoiler">i</span><code>j</code>'
        '<pre><code class="language-python">k</code></pre><blockquote>l</blockquote>'
        "<blockquote expandable>m</blockquote>"
    )
    text, entities = parse_html(source)
    assert text == "abcdefghijklm"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "code",
        "pre",
        "blockquote",
        "expandable_blockquote",
    ]
    assert entities[10]["language"] == "python"


def test_escaped_resident_text_always_parses() -> None:
    nasty = '<script>alert("x")</script> & <b> 1<2 &amp;'
    text, entities = parse_html(f"<b>摘要</b> {html.escape(nasty)}")
    assert text == f"摘要 {nasty}"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a <script>x</script>", 'Unsupported start tag "script" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("Q&A", 'unescaped "&" at byte offset 1'),
        ("中&", 'unescaped "&" at byte offset 3'),
    ],
)
def test_malformed_html_is_rejected_with_telegrams_wording(source: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_html(source)
    assert message in str(caught.value)


def test_links_to_users_become_mentions_and_empty_tags_vanish() -> None:
    text, entities = parse_html('<a href="tg://user?id=42">王</a><b></b>')
    assert text == "王"
    assert entities == [
        {
            "type": "text_mention",
            "offset": 0,
            "length": 1,
            "user": {"id": 42, "is_bot": False, "first_name": ""},
        }
    ]


def test_commands_are_found_like_telegram_marks_them() -> None:
    assert command_entities("/start") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert command_entities("/register ABC-123") == [{"type": "bot_command", "offset": 0, "length": 9}]
    assert command_entities("😀 /case@hemu_bot 12") == [{"type": "bot_command", "offset": 3, "length": 14}]
    assert command_entities("a/b and http://x/y") == []
