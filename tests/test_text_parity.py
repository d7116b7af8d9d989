"""The browser tidies and counts words exactly as the server does: app/static/js/text-tidy.mjs
(run with node) against app/text.py, over every text of the text tests, hostile texts and
generated ones. The count a person sees as they type is then the count the server keeps."""

from __future__ import annotations

import json
import random
import shutil
import subprocess  # nosec B404 - node, on texts of this test
from pathlib import Path

import pytest

from app.text import count_words, tidy
from tests.test_fuzz import HOSTILE
from tests.test_text_tidy import CASES, COUNTS, WORD_PASTE, WORD_TIDIED

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "app" / "static" / "js" / "text-tidy.mjs"
NODE = shutil.which("node")

RUNNER = """
import { readFileSync } from "node:fs";
const { tidy, countWords } = await import(process.argv[1]);
const texts = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(texts.map((t) => [tidy(t), countWords(t)])));
"""

HOSTILE_TEXTS = [
    "emoji 👍🏽 and 👨\u200d👩\u200d👧 family",
    "e\u0301 combining a\u0308\u0304 marks",
    "עברית מימין לשמאל\u200f and العربية",
    "\u202eright to left override\u202c",
    "NUL\x00 in\x00\x00 the middle",
    "\uf0b7",
    "\uf0b7\t",
    "\uf0b7 \uf0b7\tdouble",
    "\u00a0\u00a0\u00a0",
    "nbsp\u00a0between\u202fwords\u2007figure",
    "soft\u00adhyphen\u00ad",
    "crlf\r\n\r\n\r\nand\rcr",
    "\r\n•\tA\r\n•\tB\r\no\tC\r\n",
    "line\u2028separator\u2029paragraph",
    "\x85next line\x1cfile sep\x1f",
    "\ufeffbom at start",
    "tab\t\t\tmany",
    "\t•\tindented bullet",
    "1.\t\t2.\tnested",
    "(i)\t(ii)\tlabels",
    "a)\nb) \nc)  x",
    "- \n-\n--\n- -",
    "* star\n** two",
    "A) upper\nB. upper dot\n(C) paren\nIV) roman\nII. roman dot",
    "999. big\n1000. too big",
    "– \u2014\t\u2014 dashes",
    "& lone ampersand",
    "o\to\to",
    "",
    " ",
    "\n",
    "x" * 2000,
    "word " * 1000,
    "\U0001f600 astral \U0001d400 maths bold",
]

# Characters that matter to tidy and counting, for generated texts.
ALPHABET = list(
    "ab Z1.)(-*•o§üØv\t \n\r\x0b\x0c\x00\x07\x1c\x7f\x85\u00a0\u00ad\u00b7\u2013\u2014\u2018\u2019\u201c\u201d"
    "\u2002\u200b\u200d\u2028\u2029\u202f\u2060\u3000\ufeff\uf0b7\uf0a7\uf0e0▪◦●✓➢é\u0301👍"
)


def generated(n: int, seed: int = 20261201) -> list[str]:
    rng = random.Random(seed)  # nosec B311 - test data
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def every_text() -> list[str]:
    texts = [WORD_PASTE, WORD_TIDIED]
    texts += [pasted for pasted, _ in CASES] + [tidied for _, tidied in CASES]
    texts += [text for text, _ in COUNTS]
    texts += HOSTILE + HOSTILE_TEXTS
    texts += generated(2000)
    return texts


def in_node(texts: list[str]) -> list[tuple[str, int]]:
    result = subprocess.run(  # nosec B603 - a fixed command, the texts on stdin
        [NODE, "--input-type=module", "-e", RUNNER, MODULE.as_uri()],
        input=json.dumps(texts), capture_output=True, text=True, check=True, timeout=60,
    )
    return [tuple(pair) for pair in json.loads(result.stdout)]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_browser_tidies_and_counts_every_text_as_the_server_does():
    texts = every_text()
    browser = in_node(texts)
    assert len(browser) == len(texts)
    different = [
        (text, (tidy(text).text, count_words(text)), got)
        for text, got in zip(texts, browser, strict=True)
        if got != (tidy(text).text, count_words(text))
    ]
    assert different == [], different[:5]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_word_paste_counts_the_same_in_the_browser():
    assert in_node([WORD_PASTE]) == [(WORD_TIDIED, count_words(WORD_PASTE))]
