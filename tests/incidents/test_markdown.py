"""Text from people and labels stays text in the exported Markdown."""

from __future__ import annotations

import pytest

from incidents.markdown import escape


@pytest.mark.parametrize(
    "text, markdown",
    [
        ("plain words, 3.5 ms - fine", "plain words, 3.5 ms - fine"),
        ("*bold* _it_ `code`", r"\*bold\* \_it\_ \`code\`"),
        ("[click](http://evil.test)", r"\[click\]\(http://evil.test\)"),
        ("# heading", r"\# heading"),
        ("<script>x</script> & co", r"\<script\>x\</script\> \& co"),
        ("a | b", r"a \| b"),
        ("1. first", r"1\. first"),
        ("- item", r"\- item"),
        ("line one\r\n+ two\n\n===", "line one  \n  \\+ two  \n  \\==="),
        ("nul\x00 and bell\x07 dropped", "nul and bell dropped"),
    ],
)
def test_it_escapes_what_markdown_would_read_as_markup(text, markdown):
    assert escape(text) == markdown
