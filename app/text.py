"""Plain text as people write it in a section: counting words, showing it, comparing two versions.

Section text is stored as plain text, never HTML. It is shown by escaping it and turning its
layout into HTML: a blank line starts a new paragraph, lines starting "- " or "* " are bullet
points and lines starting "1. " (any number) are a numbered list.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

# JavaScript's \s (what GOV.UK Frontend's character count uses to count words: text.match(/\S+/g)).
# Python's \s differs at the edges (it has U+001C-U+001F and U+0085 but not U+FEFF), so spell it out.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_WORD = re.compile(f"[^{_JS_SPACE}]+")
_TOKEN = re.compile(f"[{_JS_SPACE}]+|[^{_JS_SPACE}]+")

_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")


# Where Python's str.split() and JavaScript's \s disagree: str.split() also splits at these.
_NOT_JS_SPACE = re.compile("[\x1c-\x1f\x85\ufeff]")


def count_words(text: str | None) -> int:
    """Words as GOV.UK Frontend's character count counts them: runs of non-whitespace. (str.split()
    when the text has none of the characters where Python's whitespace and JavaScript's differ:
    twice as fast, and the bid pages count every merged section's words.)"""
    text = text or ""
    if _NOT_JS_SPACE.search(text) is None:
        return len(text.split())
    return len(_WORD.findall(text))


# C0 control characters but tab, line feed and carriage return: no one means to type them (they
# come from pasting), a page cannot show them, and PostgreSQL refuses NUL in text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LINE_BREAK = re.compile("\r\n|[\r\n]")


def clean_text(value: str) -> str:
    """Typed text without control characters (tab and line breaks stay). Every form's input is
    cleaned so (app/forms.py, BaseForm), and the text kept when a session ends (app/drafts.py)."""
    return _CONTROL.sub("", value)


def clean_line(value: str) -> str:
    """A one-line field's text: no control characters, line breaks made spaces, no spaces at
    either end (a line break in a round's title would cut the subject of every email about it)."""
    return _LINE_BREAK.sub(" ", clean_text(value)).strip()


def normalise(text: str | None) -> str:
    """The text to store: Windows and old Mac line endings made \\n, no blank lines or spaces at
    either end (a browser drops a textarea's first newline anyway)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def blocks(text: str) -> list[tuple[str, list]]:
    """Split text into ("p", [lines]), ("ul", [items]) and ("ol", [(number, item)]) blocks: the
    layout render_text shows, for anything else that lays text out (the Word and PDF exports)."""
    found: list[tuple[str, list]] = []
    for line in normalise(text).split("\n"):
        if not line.strip():
            found.append(("gap", []))
            continue
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet:
            kind, item = "ul", bullet.group(1)
        elif numbered:
            kind, item = "ol", (int(numbered.group(1)), numbered.group(2))
        else:
            kind, item = "p", line.strip()
        if found and found[-1][0] == kind:
            found[-1][1].append(item)
        else:
            found.append((kind, [item]))
    return [b for b in found if b[0] != "gap"]


def render_text(text: str | None) -> Markup:
    """Plain text as safe HTML paragraphs and lists (every character of the text is escaped)."""
    html: list[Markup] = []
    for kind, items in blocks(text or ""):
        if kind == "ul":
            lis = Markup("").join(Markup("<li>{}</li>").format(item) for item in items)
            html.append(Markup('<ul class="govuk-list govuk-list--bullet">{}</ul>').format(lis))
        elif kind == "ol":
            start = items[0][0]
            lis = Markup("").join(Markup("<li>{}</li>").format(item) for _, item in items)
            if start == 1:
                html.append(Markup('<ol class="govuk-list govuk-list--number">{}</ol>').format(lis))
            else:
                html.append(Markup('<ol class="govuk-list govuk-list--number" start="{}">{}</ol>').format(start, lis))
        else:
            lines = Markup("<br>").join(items)
            html.append(Markup('<p class="govuk-body">{}</p>').format(lines))
    return Markup("\n").join(html)


# --- comparing two versions -------------------------------------------------------------------


@dataclass
class Diff:
    html: Markup  # the newer text, with <ins> and <del> where it differs from the older one
    words_added: int
    words_removed: int

    @property
    def changed(self) -> bool:
        return bool(self.words_added or self.words_removed)


def _has_words(tokens: list[str]) -> bool:
    return any(_WORD.match(t) for t in tokens)


def _word_count(tokens: list[str]) -> int:
    return sum(1 for t in tokens if _WORD.match(t))


_EDGES = re.compile(f"^([{_JS_SPACE}]*)(.*?)([{_JS_SPACE}]*)$", re.DOTALL)


def _marked(tag: str, tokens: list[str]) -> Markup:
    """<ins> or <del> around some words, saying what it is in words for people who cannot see the
    colour or the line. Spacing at either end stays outside, so it keeps words and lines apart."""
    before, core, after = _EDGES.match("".join(tokens)).groups()
    if tag == "ins":
        return Markup(
            '{}<ins class="pb-diff__ins"><span class="govuk-visually-hidden">added text: </span>{}'
            '<span class="govuk-visually-hidden"> (end of added text)</span></ins>{}'
        ).format(before, core, after)
    return Markup(
        '{}<del class="pb-diff__del"><span class="govuk-visually-hidden">removed text: </span>{}'
        '<span class="govuk-visually-hidden"> (end of removed text)</span></del>{}'
    ).format(before, core, after)


def _chunks(a: list[str], b: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """difflib's opcodes as (op, old tokens, new tokens), with a run of spacing alone that sits
    between two changes folded into them: "a fifth" -> "20% in" reads as one change, not two."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    chunks = [(op, a[i1:i2], b[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
    merged: list[tuple[str, list[str], list[str]]] = []
    for i, (op, old, new) in enumerate(chunks):
        between_changes = 0 < i < len(chunks) - 1 and chunks[i + 1][0] != "equal"
        if op == "equal" and between_changes and not _has_words(old):
            op = "replace"
        if op != "equal" and merged and merged[-1][0] != "equal":
            _, old_before, new_before = merged.pop()
            op, old, new = "replace", old_before + old, new_before + new
        merged.append((op, old, new))
    return merged


def diff_texts(older: str | None, newer: str | None) -> Diff:
    """A word-level comparison of two texts, made with difflib.

    The result reads as the newer text with the older text's removed words in place, struck
    through (<del>), and the added words underlined (<ins>) - see _sections.scss. Each change also
    says "added text" or "removed text" to screen readers. Changes of spacing alone (such as a
    line break instead of a space) are not marked: the newer text's spacing is shown."""
    a, b = _TOKEN.findall(normalise(older)), _TOKEN.findall(normalise(newer))
    out: list[Markup] = []
    added = removed = 0
    for op, old, new in _chunks(a, b):
        if op == "equal":
            out.append(escape("".join(new)))
            continue
        removed += _word_count(old)
        added += _word_count(new)
        if _has_words(old):
            out.append(_marked("del", old))
        if _has_words(new):
            out.append(_marked("ins", new))
        else:
            out.append(escape("".join(new)))
    return Diff(html=Markup("").join(out), words_added=added, words_removed=removed)
