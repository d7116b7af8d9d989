// Text tidied and words counted as the server does (app/text.py, tidy and count_words): the
// browser's word count is of the text as it will be saved. Written twice on purpose, in the same
// steps and with regular expressions that mean the same in both languages (explicit character
// classes, no \s or \S, "." only within a line); tests/test_text_parity.py runs both over the
// same texts and compares them.

const LINE_BREAKS = /\r\n|[\r\x0b\x0c\u2028\x85]/g;
const HIDDEN = /[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u180e\u200b\u2060\ufeff]/g;
const SPACES = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g;
const SINGLE_QUOTES = /[\u2018\u2019\u201a\u201b]/g;
const DOUBLE_QUOTES = /[\u201c\u201d\u201e\u201f]/g;
const SYMBOL_FONT = /[\uf000-\uf0ff]/g;
const SHAPE_BULLET = new RegExp(
  "^([\u2022\u25e6\u25aa\u25ab\u25a0\u25a1\u25cf\u25cb\u25ba\u27a2\u27a4\u25b6\u2713\u2714\u2023" +
    "\u2043\u2219\u25c6\u25c7\u2756\u29bf\u29be\uf000-\uf0ff])[ \t]*([^ \t].*)$",
);
const DASH_BULLET = /^([\u2013\u00b7])[ \t]+([^ \t].*)$/;
const TAB_BULLET = /^([oqnvu*\u2014\u00a7\u00fc\u00d8\u0178-])\t[ \t]*([^ \t].*)$/;
const NUMBER = /^(?:([0-9]{1,3})[.)]|\(([0-9]{1,3})\))[ \t]+([^ \t].*)$/;
const TABS = /[ ]*\t[ \t]*/g;
const BLANK_RUNS = /\n{3,}/g;
const LOWER = "(?:[a-z]|[ivxlcdm]{2,7})";
const UPPER = "(?:[A-Z]|[IVXLCDM]{2,7})";
const MARKER = new RegExp(`^(?:[-*]|[0-9]{1,3}\\.|${LOWER}[.)]|${UPPER}\\)|\\((?:${LOWER}|${UPPER})\\)) +[^ \\n]`, "gm");

const strip = (line) => line.replace(/^[ \t]+|[ \t]+$/g, "");

function tidyLine(raw) {
  let line = strip(raw);
  let found = null;
  for (const pattern of [SHAPE_BULLET, DASH_BULLET, TAB_BULLET]) {
    found = line.match(pattern);
    if (found) {
      line = `- ${found[2]}`;
      break;
    }
  }
  if (!found) {
    const number = line.match(NUMBER);
    if (number) line = `${number[1] ?? number[2]}. ${number[3]}`;
  }
  return strip(line.replace(TABS, " ").replace(SYMBOL_FONT, ""));
}

// The text as the server will save it (the changes are listed by the server after saving).
export function tidy(text) {
  let out = (text ?? "").replaceAll("\u2029", "\n\n").replace(LINE_BREAKS, "\n");
  out = out.replace(HIDDEN, "").replace(SPACES, " ").replace(SINGLE_QUOTES, "'").replace(DOUBLE_QUOTES, '"');
  out = out.split("\n").map(tidyLine).join("\n");
  return out.replace(BLANK_RUNS, "\n\n").replace(/^\n+|\n+$/g, "");
}

// Words as Microsoft Word counts them (see count_words in app/text.py): runs of characters
// between spaces in the tidied text, less the bullet or number at the start of each list line.
export function countWords(text) {
  const tidied = tidy(text);
  const words = tidied.split(/[ \n]+/).filter(Boolean).length;
  return words - (tidied.match(MARKER) ?? []).length;
}
