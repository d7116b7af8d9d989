"""Plain text as people write it in a section: tidying it, counting words, showing it, comparing
two versions.

Section text is stored as plain text, never HTML. It is shown by escaping it and turning its
layout into HTML: a blank line starts a new paragraph, lines starting "- " or "* " are bullet
points and lines starting "1. " (any number) are a numbered list. Text typed or pasted (from Word
or Outlook) is tidied into this layout when it is saved (tidy); text stored before that is tidied
when it is laid out (blocks) and counted (count_words).
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


# --- tidying typed and pasted text ------------------------------------------------------------
#
# tidy() is written twice, here and in app/static/js/text-tidy.mjs (the browser counts words in
# the text as it will be saved). tests/test_text_parity.py runs both over the same texts. Both
# take the same steps, with regular expressions that mean the same in both languages: explicit
# character classes, no \s, \S or \w, and "." only within one line.

# Line breaks: Windows and old Mac endings, Word's manual line break (vertical tab, pasted as
# text), form feed (a page break), Unicode's line and paragraph separators, NEL.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\u2028\x85]")
_LINE_BREAK_CHARS = "\r\x0b\x0c\u2028\x85\u2029"


def _chars(*ranges: str) -> list[int]:
    """Code points of "a" or "az" (a to z) ranges."""
    return [c for r in ranges for c in range(ord(r[0]), ord(r[-1]) + 1)]


# Invisible characters no one means to keep: control characters (NUL included: PostgreSQL refuses
# it in text), DEL and the C1 controls, soft hyphens (Word's optional hyphens), zero-width spaces,
# word joiners, byte order marks and U+180E. Zero-width joiners and non-joiners stay: emoji and
# Persian or Indic spelling need them; so do the right-to-left marks.
_HIDDEN = dict.fromkeys(
    _chars("\x00\x08", "\x0e\x1f", "\x7f\x84", "\x86\x9f", "\u00ad", "\u180e", "\u200b", "\u2060", "\ufeff")
)
# Spaces that look like a space: non-breaking (Word and Outlook paste many), narrow non-breaking,
# en, em, thin, hair, ideographic ...
_SPACES = dict.fromkeys(_chars("\u00a0", "\u1680", "\u2000\u200a", "\u202f", "\u205f", "\u3000"), " ")
_QUOTES = {**dict.fromkeys(_chars("\u2018\u201b"), "'"), **dict.fromkeys(_chars("\u201c\u201f"), '"')}
# Word's Symbol and Wingdings characters, pasted as the private-use code points of those fonts:
# no other font has them, so they show as empty boxes on the page and in the exports.
_SYMBOL_FONT = re.compile("[\uf000-\uf0ff]")
_SYMBOL_CHARS = dict.fromkeys(_chars("\uf000\uf0ff"))
_TRANSLATE = {**_HIDDEN, **_SPACES, **_QUOTES}
_SPECIAL = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted({*_TRANSLATE, *_SYMBOL_CHARS})) + "]")
# Bullets as Word and Outlook paste them at the start of a line. Shapes that never start a word,
# with or without a gap after them (U+F0B7 is Word's usual bullet, U+F0A7 a square, U+F0D8 an
# arrowhead, U+F0FC a tick ...):
_SHAPE_BULLET = re.compile(
    "^([\u2022\u25e6\u25aa\u25ab\u25a0\u25a1\u25cf\u25cb\u25ba\u27a2\u27a4\u25b6\u2713\u2714\u2023"
    "\u2043\u2219\u25c6\u25c7\u2756\u29bf\u29be\uf000-\uf0ff])[ \t]*([^ \t].*)$"
)
# an en dash or a middle dot (Outlook's plain text for Word's bullet), then a gap:
_DASH_BULLET = re.compile("^([\u2013\u00b7])[ \t]+([^ \t].*)$")
# letters and signs that are bullets only when a tab follows (Word's gap after a list marker):
# "o" (Word's second-level bullet), a hyphen or an asterisk, an em dash, and Wingdings bullets
# pasted as the letters of their code points: q (box), n (square), v (diamond), u (diamond),
# § (square), ü (tick), Ø (arrowhead), Ÿ (arrowhead).
_TAB_BULLET = re.compile("^([oqnvu*\u2014\u00a7\u00fc\u00d8\u0178-])\t[ \t]*([^ \t].*)$")
# Numbered lists: "1.", "1)" and "(1)", then a gap. Kept as "1. " (the numbered list our layout knows).
_NUMBER = re.compile("^(?:([0-9]{1,3})[.)]|\\(([0-9]{1,3})\\))[ \t]+([^ \t].*)$")
_TABS = re.compile("[ ]*\t[ \t]*")
# What a line that is a list item can start with (the patterns above need not be tried otherwise).
_MARKER_STARTS = frozenset(
    "\u2022\u25e6\u25aa\u25ab\u25a0\u25a1\u25cf\u25cb\u25ba\u27a2\u27a4\u25b6\u2713\u2714\u2023"
    "\u2043\u2219\u25c6\u25c7\u2756\u29bf\u29be\u2013\u00b7oqnvu*\u2014\u00a7\u00fc\u00d8\u0178-(0123456789"
) | frozenset(map(chr, range(0xF000, 0xF100)))
_BLANK_RUNS = re.compile("\n{3,}")

# A list marker at the start of a tidied line, with something after it: "- " and "* " bullets,
# "1. " numbers, and letters or roman numerals ("a.", "a)", "(a)", "iv.", "(iv)", "B)"), which are
# kept as written (our layout has no lettered lists) but, like Word's automatic numbering, not counted.
# A capital letter and a full stop is more often an initial ("J. Smith"), so counts as a word.
_LOWER = "(?:[a-z]|[ivxlcdm]{2,7})"
_UPPER = "(?:[A-Z]|[IVXLCDM]{2,7})"
_MARKER = re.compile(
    f"^(?:[-*]|[0-9]{{1,3}}\\.|{_LOWER}[.)]|{_UPPER}\\)|\\((?:{_LOWER}|{_UPPER})\\)) +[^ \n]", re.MULTILINE
)


@dataclass(frozen=True)
class Tidied:
    text: str
    changes: tuple[str, ...] = ()  # what was changed, in words a person would notice, or ()

    @property
    def message(self) -> str | None:
        """"We tidied your text: ..." when something was changed, else None."""
        return f"We tidied your text: {', '.join(self.changes)}" if self.changes else None


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _tidy_line(line: str, counts: dict, symbols: bool) -> str:
    line = line.strip(" \t")
    if not line:
        return line
    if line[0] in _MARKER_STARTS:
        line = _list_item(line, counts)
    if "\t" in line:
        counts["tabs"] += 1
        line = _TABS.sub(" ", line)
    if symbols:
        line, removed = _SYMBOL_FONT.subn("", line)
        counts["symbols"] += removed
    return line.strip(" \t")


def _list_item(line: str, counts: dict) -> str:
    """A line in our list form ("- ", "1. ") if it is a list item as Word or Outlook paste one."""
    for pattern in (_SHAPE_BULLET, _DASH_BULLET, _TAB_BULLET):
        found = pattern.match(line)
        if found:
            counts["bullets"] += 1
            line = f"- {found.group(2)}"
            break
    else:
        found = _NUMBER.match(line)
        if found:
            number, rest = found.group(1) or found.group(2), found.group(3)
            tidied = f"{number}. {rest}"
            if tidied != line:
                counts["numbers"] += 1
                line = tidied
    return line


def tidy(text: str | None) -> Tidied:
    """Typed or pasted text (from Word or Outlook, say) in our plain-text layout, and what changed.

    - Bullets as Word and Outlook paste them ("•", "◦", "▪", "o" and a tab, Word's Symbol-font
      bullet U+F0B7 ...) become "- " bullet points; "1)", "(1)" and "1." then a tab become "1. ".
      Letters and roman numerals ("a)", "(a)", "i.") are kept as written: our layout has no
      lettered lists, and the letters are what people refer to ("see (b) above"); they stay on
      lines of their own and are not counted as words (count_words).
    - Smart quotes become straight; non-breaking and other Unicode spaces become spaces; other
      tabs become a space; soft hyphens, zero-width spaces and control characters (NUL too) are
      removed; Symbol and Wingdings characters (U+F000-U+F0FF) that are not bullets are removed.
    - Windows line endings become \\n, spaces at the ends of lines and of the text are removed,
      and runs of blank lines become one.

    The changes a person would notice are listed in words. Line endings and spaces at line ends
    are not (a browser sends every line break as \\r\\n). tidy(tidy(x).text) changes nothing.
    """
    text = text or ""
    if any(c in text for c in _LINE_BREAK_CHARS):
        text = _LINE_BREAKS.sub("\n", text.replace("\u2029", "\n\n"))
    # One pass finds the characters to change (few or none in most texts); then one translate.
    special = _SPECIAL.findall(text)
    hidden = sum(1 for c in special if ord(c) in _HIDDEN)
    spaced = any(ord(c) in _SPACES for c in special)
    quoted = any(ord(c) in _QUOTES for c in special)
    symbols = any(ord(c) in _SYMBOL_CHARS for c in special)
    if hidden or spaced or quoted:
        text = text.translate(_TRANSLATE)
    counts = {"bullets": 0, "numbers": 0, "tabs": 0, "symbols": 0}
    text = "\n".join(_tidy_line(line, counts, symbols) for line in text.split("\n"))
    blank_runs = 0
    if "\n\n\n" in text:
        text, blank_runs = _BLANK_RUNS.subn("\n\n", text)
    text = text.strip("\n")

    changes = []
    if counts["bullets"]:
        changes.append(f"{_plural(counts['bullets'], 'bullet point', 'bullet points')} made into a list")
    if counts["numbers"]:
        changes.append(f"{_plural(counts['numbers'], 'numbered point', 'numbered points')} made into a numbered list")
    if quoted:
        changes.append("smart quotes made straight")
    if spaced:
        changes.append("non-breaking and other special spaces made ordinary spaces")
    if counts["tabs"]:
        changes.append("tabs made spaces")
    if counts["symbols"]:
        changes.append(f"{_plural(counts['symbols'], 'symbol', 'symbols')} that cannot be shown removed")
    if hidden:
        changes.append(f"{_plural(hidden, 'hidden character', 'hidden characters')} removed")
    if blank_runs:
        changes.append("extra blank lines removed")
    return Tidied(text, tuple(changes))


def count_words(text: str | None) -> int:
    """Words as Microsoft Word counts them, since funders check word limits in Word.

    The text is tidied first (tidy), then every run of characters between spaces or line breaks
    is a word, except the list marker at the start of a list line ("- ", "1. ", "a) ", "(iv) "):
    Word does not count its automatic bullets and numbers. Anything else between spaces counts,
    as in Word: a lone dash ("-" or "–") or "&" is a word, and so are numbers and emoji.
    Counting a doubtful case rather than leaving it out means a text within our limit is within
    the funder's. The browser counts the same way (app/static/js/text-tidy.mjs)."""
    tidied = tidy(text).text
    return len(tidied.split()) - len(_MARKER.findall(tidied))


# C0 control characters but tab, line feed and carriage return: no one means to type them (they
# come from pasting), a page cannot show them, and PostgreSQL refuses NUL in text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LINE_BREAK = re.compile("\r\n|[\r\n]")


def clean_text(value: str) -> str:
    """Typed text without control characters (tab and line breaks stay): what the text kept when
    a session ends holds (app/drafts.py). Multi-line text a person saves is tidied (tidy)."""
    return _CONTROL.sub("", value)


def clean_line(value: str) -> str:
    """A one-line field's text: no control characters, line breaks made spaces, no spaces at
    either end (a line break in a round's title would cut the subject of every email about it)."""
    return _LINE_BREAK.sub(" ", clean_text(value)).strip()


def normalise(text: str | None) -> str:
    """The text to store: tidied (tidy)."""
    return tidy(text).text


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
