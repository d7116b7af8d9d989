"""Reading a Word document as headings and the plain text under them.

What every Word import needs (a CSP's draft, the funder's application form) and what the export
into the funder's form needs to find its headings. The text is our plain-text form (app/text.py):
paragraphs apart by a blank line, bullet points as "- ", numbered lists as "1. ", tables flattened
one row per line. The document is read as Word shows it with tracked changes accepted: inserted
text is kept, deleted and moved-away text is not; field codes are not text, their results are.

Headings are paragraphs with a heading style (Heading 1-9, Title, or any style with an outline
level), or, in a document that has none (a Title alone does not count), short bold paragraphs. A
heading's number is the one Word's list numbering gives it ("3.", "2.1", "Section 3:" as "3") or
the one typed at its start ("Section 3:", "Q4").

Application forms often ask their questions another way, and read(document, questions=True) finds
those too, one level below the heading above them:
- short bold paragraphs, even in a document that also has heading styles ("Part A" as Heading 1,
  its questions in bold);
- questions in a table: a row with one cell of text (the question, often shaded) above a row left
  empty for the answer. The cell's first paragraph is the heading, the rest of it the text under
  the heading. A table of labels and boxes side by side (contact details) stays text.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from dataclasses import dataclass, field

from docx.oxml.ns import qn

W_P, W_TBL, W_SDT, W_SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
W_T, W_TAB, W_BR, W_CR, W_SYM = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:sym")
W_NO_BREAK_HYPHEN, W_SOFT_HYPHEN = qn("w:noBreakHyphen"), qn("w:softHyphen")
W_DEL, W_MOVE_FROM = qn("w:del"), qn("w:moveFrom")
W_TR, W_TC, W_PPR, W_RPR = qn("w:tr"), qn("w:tc"), qn("w:pPr"), qn("w:rPr")
W_FLD_CHAR, W_INSTR_TEXT, W_R = qn("w:fldChar"), qn("w:instrText"), qn("w:r")
W_VAL = qn("w:val")

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.IGNORECASE)
# A number typed at the start of a heading: "3.", "3.1", "2a)", "Section 3:", "Question 4 -", "Q4".
_TYPED_NUMBER = re.compile(
    r"^\s*(?:(?:section|question|part|q)\s*)?(\d{1,3}(?:\.\d{1,3})*[a-z]?)(?:[.):]|\s+[-–—:])?\s+(?=\S)(.*)$",
    re.IGNORECASE | re.DOTALL,
)
_BOLD_HEADING_MAX_WORDS = 15


@dataclass
class Heading:
    level: int  # 0 for a Title, 1-9 for Heading 1-9
    title: str  # without its number
    number: str | None = None  # "3", "3.1", "2a": as Word numbers it or as typed, without the dot
    element: object = field(default=None, repr=False, compare=False)  # the w:p, for the export

    @property
    def text(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title


@dataclass
class Part:
    """The text between one heading and the next (heading None: the text before the first)."""

    heading: Heading | None
    text: str
    elements: list = field(default_factory=list, repr=False, compare=False)  # its w:p and w:tbl


# --- Word's list numbering --------------------------------------------------------------------


_ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]  # fmt: skip


def _roman(n: int) -> str:
    out = ""
    for value, letters in _ROMAN:
        while n >= value:
            out, n = out + letters, n - value
    return out


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _format(n: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return _letters(n)
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    return str(n)


@dataclass
class _Level:
    fmt: str = "decimal"
    text: str = "%1."
    start: int = 1


class _Numbering:
    """Counts Word's automatic numbering as it goes through the document, so each numbered
    paragraph gets the label Word shows ("3.", "2.1", "b)") or is known to be a bullet."""

    def __init__(self, document):
        self.levels: dict[str, dict[int, _Level]] = {}  # numId -> ilvl -> level
        self.counters: dict[str, dict[int, int]] = {}
        self.abstract_of: dict[str, str] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract: dict[str, dict[int, _Level]] = {}
        for node in root.findall(qn("w:abstractNum")):
            levels = {}
            for lvl in node.findall(qn("w:lvl")):
                levels[int(lvl.get(qn("w:ilvl"), "0"))] = _Level(
                    fmt=_val(lvl.find(qn("w:numFmt")), "decimal"),
                    text=_val(lvl.find(qn("w:lvlText")), ""),
                    start=int(_val(lvl.find(qn("w:start")), "1") or 1),
                )
            abstract[node.get(qn("w:abstractNumId"))] = levels
        for num in root.findall(qn("w:num")):
            num_id, abstract_id = num.get(qn("w:numId")), _val(num.find(qn("w:abstractNumId")), "")
            self.abstract_of[num_id] = abstract_id
            levels = dict(abstract.get(abstract_id, {}))
            for override in num.findall(qn("w:lvlOverride")):
                ilvl = int(override.get(qn("w:ilvl"), "0"))
                start = override.find(qn("w:startOverride"))
                if ilvl in levels and start is not None:
                    levels[ilvl] = _Level(levels[ilvl].fmt, levels[ilvl].text, int(_val(start, "1") or 1))
            self.levels[num_id] = levels

    def label(self, num_id: str, ilvl: int) -> tuple[str, str] | None:
        """(kind, label) of the next paragraph numbered by (num_id, ilvl): kind "bullet" or
        "number"; None when the numbering does not exist (numId 0 switches numbering off)."""
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return None
        level = levels[ilvl]
        if level.fmt in ("bullet", "none"):
            return "bullet", ""
        key = self.abstract_of.get(num_id, num_id)
        counters = self.counters.setdefault(key, {})
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]

        def part(match: re.Match) -> str:
            n = int(match.group(1)) - 1
            lvl = levels.get(n, _Level())
            return _format(counters.get(n, lvl.start), lvl.fmt)

        return "number", re.sub(r"%(\d)", part, level.text)


def _val(node, default: str) -> str:
    return default if node is None else node.get(W_VAL, default)


class _Styles(dict):
    """The document's paragraph styles by id, with each style's base style looked up once: python-docx
    finds a base style with an XPath search of styles.xml each time, which made reading a 20-page
    draft take a quarter of a second in style lookups alone."""

    def __init__(self, document):
        super().__init__((s.style_id, s) for s in document.styles)
        self._bases: dict[str, object] = {}

    def base(self, style):
        key = style.style_id
        if key not in self._bases:
            based_on = style.element.basedOn_val
            self._bases[key] = self.get(based_on) if based_on else None
        return self._bases[key]


def _base_of(style, styles):
    return styles.base(style) if isinstance(styles, _Styles) else style.base_style


def _num_pr(p, style, styles=None) -> tuple[str, int] | None:
    """The paragraph's (numId, ilvl): its own, or its style's (or the style's base styles')."""
    ppr = p.find(W_PPR)
    num_pr = ppr.find(qn("w:numPr")) if ppr is not None else None
    while num_pr is None and style is not None:
        style_ppr = style.element.find(W_PPR)
        num_pr = style_ppr.find(qn("w:numPr")) if style_ppr is not None else None
        style = _base_of(style, styles)
    if num_pr is None:
        return None
    num_id = _val(num_pr.find(qn("w:numId")), "")
    ilvl = int(_val(num_pr.find(qn("w:ilvl")), "0") or 0)
    if not num_id or num_id == "0":
        return None
    return num_id, ilvl


# --- paragraphs ---------------------------------------------------------------------------------


def paragraph_text(p) -> str:
    """A w:p's text as Word shows it with tracked changes accepted."""
    out: list[str] = []
    in_field_code = 0  # between a field's "begin" and "separate": its code, not its result
    for node in p.iter():
        tag = node.tag
        if tag == W_FLD_CHAR:
            kind = node.get(qn("w:fldCharType"))
            if kind == "begin":
                in_field_code += 1
            elif kind in ("separate", "end") and in_field_code:
                in_field_code -= 1
            continue
        if in_field_code or tag not in _TEXT_TAGS or _deleted(node, p):
            continue
        if tag == W_T:
            out.append(node.text or "")
        elif tag == W_TAB:
            if node.getparent().tag == W_R:  # a tab character, not a tab stop in w:tabs
                out.append("\t")
        elif tag in (W_BR, W_CR):
            out.append("\n")
        elif tag == W_NO_BREAK_HYPHEN:
            out.append("-")
        elif tag == W_SYM:
            char = node.get(qn("w:char"), "")
            with contextlib.suppress(ValueError):
                out.append(chr(int(char, 16)))
    return "".join(out)


_TEXT_TAGS = {W_T, W_TAB, W_BR, W_CR, W_NO_BREAK_HYPHEN, W_SYM}


def _deleted(node, stop) -> bool:
    parent = node.getparent()
    while parent is not None and parent is not stop:
        if parent.tag in (W_DEL, W_MOVE_FROM):
            return True
        parent = parent.getparent()
    return False


def _style_of(styles: dict, p):
    ppr = p.find(W_PPR)
    style_node = ppr.find(qn("w:pStyle")) if ppr is not None else None
    return styles.get(_val(style_node, "")) or styles.get(None)


def _heading_level(style, p, styles=None) -> int | None:
    """1-9 for a heading (0 for a Title), from the style's name or an outline level."""
    ppr = p.find(W_PPR)
    outline = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    current = style
    while outline is None and current is not None:
        name = (current.name or "").strip()
        if name.lower() in ("title",):
            return 0
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
        style_ppr = current.element.find(W_PPR)
        outline = style_ppr.find(qn("w:outlineLvl")) if style_ppr is not None else None
        current = _base_of(current, styles)
    if outline is not None:
        level = int(_val(outline, "9") or 9)
        return level + 1 if level < 9 else None  # 9 is "body text"
    return None


def _all_bold(p, style, styles=None) -> bool:
    runs = [r for r in p.iter(W_R) if (r.findtext(W_T) or "").strip() and not _deleted(r, p)]
    if not runs:
        return False
    style_bold = False
    current = style
    while current is not None:
        if current.font.bold is not None:
            style_bold = bool(current.font.bold)
            break
        current = _base_of(current, styles)
    for r in runs:
        rpr = r.find(W_RPR)
        b = rpr.find(qn("w:b")) if rpr is not None else None
        bold = style_bold if b is None else _val(b, "true") not in ("0", "false", "off")
        if not bold:
            return False
    return True


def split_number(text: str) -> tuple[str | None, str]:
    """("3.1", "Outcomes") from "3.1 Outcomes", "Section 3.1: Outcomes"; (None, text) otherwise."""
    match = _TYPED_NUMBER.match(text)
    if not match:
        return None, text.strip()
    return match.group(1).rstrip("."), match.group(2).strip()


# --- the document ------------------------------------------------------------------------------


@dataclass
class _Block:
    element: object
    kind: str  # "heading", "p", "table"
    text: str = ""
    heading: Heading | None = None


def _body_elements(parent):
    """The body's paragraphs and tables in order, looking inside block-level content controls."""
    for child in parent.iterchildren():
        if child.tag in (W_P, W_TBL):
            yield child
        elif child.tag == W_SDT:
            content = child.find(W_SDT_CONTENT)
            if content is not None:
                yield from _body_elements(content)


def _cell_text(tc, numbering, styles) -> str:
    lines = []
    for child in _body_elements(tc):
        if child.tag == W_P:
            line = _list_text(child, numbering, styles)
            if line.strip():
                lines.append(line.strip())
        else:
            lines.append(table_text(child, numbering, styles))
    return "; ".join(line.replace("\n", "; ") for line in lines if line)


def table_text(tbl, numbering=None, styles=None) -> str:
    """A table as lines of text: a two-column row as "Label: value", a wider one with its cells
    apart by " | ". A merged cell counts once; empty cells are left out."""
    styles = styles or {}
    lines = []
    for tr in tbl.iterchildren(W_TR):
        cells = []
        for tc in tr.iterchildren(W_TC):
            tcpr = tc.find(qn("w:tcPr"))
            vmerge = tcpr.find(qn("w:vMerge")) if tcpr is not None else None
            if vmerge is not None and _val(vmerge, "continue") == "continue":
                continue  # the rest of a cell merged down: its text is in the first row
            text = _cell_text(tc, numbering, styles)
            if text:
                cells.append(text)
        if not cells:
            continue
        lines.append(f"{cells[0]}: {cells[1]}" if len(cells) == 2 else " | ".join(cells))
    return "\n".join(lines)


def _list_text(p, numbering, styles) -> str:
    text = paragraph_text(p)
    if numbering is None:
        return text
    num = _num_pr(p, _style_of(styles, p), styles)
    label = numbering.label(*num) if num else None
    if label is None or not text.strip():
        return text
    kind, shown = label
    if kind == "bullet":
        return f"- {text.strip()}"
    number = re.match(r"\d+", shown.strip().split(".")[-1] or shown.strip())
    if re.fullmatch(r"\(?\d+[.)]?", shown.strip()):
        return f"{number.group(0) if number else shown.strip()}. {text.strip()}"
    return f"{shown.strip()} {text.strip()}"


_BOLD = -1  # a bold paragraph found as a question: its level is worked out in order


def _bold_heading(p, styles) -> bool:
    text = paragraph_text(p).strip()
    return bool(text) and len(text.split()) <= _BOLD_HEADING_MAX_WORDS and _all_bold(p, _style_of(styles, p), styles)


_LABEL_WORD = re.compile(r"^(?:section|question|part|q)\s*", re.IGNORECASE)


def _heading(p, text: str, level: int, numbering, styles) -> Heading:
    """The Heading of paragraph p (its text given), numbered by Word or by what is typed."""
    num = _num_pr(p, _style_of(styles, p), styles) if numbering is not None else None
    label = numbering.label(*num) if num else None
    if label and label[0] == "number" and label[1].strip():
        number, title = _LABEL_WORD.sub("", label[1].strip()).rstrip(".):- "), text
        typed, rest = split_number(text)
        if typed == number:
            title = rest
    else:
        number, title = split_number(text)
    return Heading(level, " ".join(title.split()), number or None, p)


def _row_cells(tr) -> list:
    """A row's cells, without the rest of a cell merged down from the row above."""
    cells = []
    for tc in tr.iterchildren(W_TC):
        tcpr = tc.find(qn("w:tcPr"))
        vmerge = tcpr.find(qn("w:vMerge")) if tcpr is not None else None
        if vmerge is not None and _val(vmerge, "continue") == "continue":
            continue
        cells.append(tc)
    return cells


def _cell_paragraphs(tc) -> list:
    return [p for p in tc.iter(W_P) if paragraph_text(p).strip()]


_SDT_PR, _SHOWING_PLACEHOLDER = qn("w:sdtPr"), qn("w:showingPlcHdr")


def _placeholder(node) -> bool:
    """Inside a content control that is showing its placeholder ("Click or tap here to enter text")."""
    for parent in node.iterancestors(W_SDT):
        props = parent.find(_SDT_PR)
        if props is not None and props.find(_SHOWING_PLACEHOLDER) is not None:
            return True
    return False


def _left_for_an_answer(tc) -> bool:
    """An answer box: a cell with no text, or only a content control's placeholder."""
    return all(_placeholder(t) for t in tc.iter(W_T) if (t.text or "").strip() and not _deleted(t, tc))


def _table_questions(tbl, numbering, styles):
    """The questions of a table laid out as a form (see the module's notes), in order, each as
    (first paragraph, its text, [lines of the rest of the cell]), with the text of any other rows
    between them as strings; None when the table asks no question that way."""
    rows = list(tbl.iterchildren(W_TR))
    filled = [[tc for tc in _row_cells(tr) if _cell_paragraphs(tc)] for tr in rows]
    answer_rows = {i for i, tr in enumerate(rows) if all(_left_for_an_answer(tc) for tc in _row_cells(tr))}
    asking = {
        i for i in range(len(rows) - 1)
        if len(filled[i]) == 1 and i not in answer_rows and i + 1 in answer_rows
        and list(rows[i + 1].iterchildren(W_TC))
    }
    if not asking:
        return None
    out: list = []
    others: list = []
    for i, tr in enumerate(rows):
        if i in asking:
            if others:
                out.append(_rows_text(others, numbering, styles))
                others = []
            paragraphs = _cell_paragraphs(filled[i][0])
            first = paragraphs[0]
            rest = [_list_text(p, numbering, styles) for p in paragraphs[1:]]
            out.append((first, paragraph_text(first).strip(), rest))
        elif filled[i] and i not in answer_rows:
            others.append(tr)
    if others:
        out.append(_rows_text(others, numbering, styles))
    return out


def _rows_text(rows, numbering, styles) -> str:
    from copy import deepcopy

    table = deepcopy(rows[0].getparent())
    for tr in list(table.iterchildren(W_TR)):
        table.remove(tr)
    for tr in rows:
        table.append(deepcopy(tr))
    return table_text(table, numbering, styles)


def read(document, *, questions: bool = False) -> list[Part]:
    """The document as its parts: the text before the first heading, then each heading and the
    text under it (down to the next heading of any level). questions=True: also the questions an
    application form asks in bold paragraphs and in tables (see the module's notes)."""
    styles = _Styles(document)
    styles[None] = next(
        (s for s in document.styles if s.type == 1 and s.element.get(qn("w:default")) in ("1", "true")), None
    )
    numbering = _Numbering(document)
    body = document.element.body
    elements = list(_body_elements(body))

    # First pass: which paragraphs are headings (styled ones, or bold ones if there are none).
    levels = {}
    for el in elements:
        if el.tag == W_P:
            level = _heading_level(_style_of(styles, el), el, styles)
            if level is not None and paragraph_text(el).strip():
                levels[id(el)] = level
    if not any(level >= 1 for level in levels.values()):  # none, or only a Title on the cover
        for el in elements:
            if el.tag == W_P and id(el) not in levels and _bold_heading(el, styles):
                levels[id(el)] = 1

    styled = any(level >= 1 for level in levels.values())
    if questions and styled:
        for el in elements:
            if el.tag == W_P and id(el) not in levels and _bold_heading(el, styles):
                levels[id(el)] = _BOLD
    parts: list[Part] = [Part(None, "")]
    chunks: list[list[str]] = [[]]
    last_styled = 0  # the level of the last styled heading: bold and table questions go one below it
    for el in elements:
        if el.tag == W_TBL:
            asked = _table_questions(el, numbering, styles) if questions else None
            if asked is None:
                chunks[-1].append(table_text(el, numbering, styles))
                parts[-1].elements.append(el)
                continue
            for item in asked:
                if isinstance(item, str):  # rows that are not questions: text under the last heading
                    chunks[-1].append(item)
                    parts[-1].elements.append(el)
                    continue
                first, title_text, rest = item
                heading = _heading(first, title_text, last_styled + 1, numbering, styles)
                parts.append(Part(heading, "", [el]))
                chunks.append(rest)
            continue
        level = levels.get(id(el))
        if level == _BOLD and not last_styled:
            level = None  # bold lines before the first heading (a cover page) are text
        if level is not None:
            if level == _BOLD:
                level = last_styled + 1
            else:
                last_styled = level
            text = paragraph_text(el).strip()
            heading = _heading(el, text, level, numbering, styles)
            parts.append(Part(heading, "", [el]))
            chunks.append([])
            continue
        line = _list_text(el, numbering, styles)
        chunks[-1].append(line)
        parts[-1].elements.append(el)
    for part, lines in zip(parts, chunks, strict=True):
        part.text = _join(lines)
    if not parts[0].text and len(parts) > 1:
        parts = parts[1:]
    return parts


def _join(lines: list[str]) -> str:
    """Paragraphs apart by a blank line; the items of one list on consecutive lines."""
    out: list[str] = []
    previous_item = False
    for line in lines:
        stripped = line.strip()
        if not stripped:
            previous_item = False
            continue
        item = bool(re.match(r"^(?:- |\d+\. )", stripped))
        if out:
            out.append("\n" if item and previous_item else "\n\n")
        out.append(line.rstrip())
        previous_item = item
    return "".join(out).strip()


# --- matching headings to a round's sections -----------------------------------------------------

_NOT_WORD = re.compile(r"[^\w]+")
MATCH_THRESHOLD = 0.6


def title_key(title: str) -> str:
    """A title as compared: lower case, words only, "&" as "and"."""
    return " ".join(_NOT_WORD.sub(" ", title.lower().replace("&", " and ")).split())


def similarity(heading: Heading, number: int | None, title: str) -> float:
    """How well a heading matches a section (0 to 1): by title, tolerant of small differences
    (case, punctuation, a word added or dropped), helped by the same number."""
    a, b = title_key(heading.title), title_key(title)
    if not a or not b:
        score = 0.0
    elif a == b:
        score = 1.0
    else:
        score = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        if a in b or b in a:
            score = max(score, 0.85)
    if number is not None and heading.number is not None and heading.number.split(".")[0] == str(number):
        score = min(1.0, score + 0.25) if score >= 0.35 else score
    return score


def match(parts: list[Part], sections: list, *, number_of=lambda s: s.number, title_of=lambda s: s.title):
    """Pair each section with the part under its heading: {section: Part or None}, and the parts
    whose heading matched no section. Best pairs first, so each heading goes to one section."""
    headed = [p for p in parts if p.heading is not None]
    scores = []
    for i, part in enumerate(headed):
        for j, section in enumerate(sections):
            score = similarity(part.heading, number_of(section), title_of(section))
            if score >= MATCH_THRESHOLD:
                scores.append((score, -i, -j, i, j))
    scores.sort(reverse=True)
    paired_parts: set[int] = set()
    found: dict[int, Part] = {}
    for _score, _, _, i, j in scores:
        if i in paired_parts or j in found:
            continue
        paired_parts.add(i)
        found[j] = headed[i]
    matched = {j: found.get(j) for j in range(len(sections))}
    unmatched = [p for i, p in enumerate(headed) if i not in paired_parts]
    return [(sections[j], matched[j]) for j in range(len(sections))], unmatched
