// A live word count for a textarea without a word limit (a section whose CSP part has no limit).
// Sections with a limit use GOV.UK Frontend's character count in words mode instead (app.mjs makes
// it count this way too). Words are counted as the server counts them (app/text.py, count_words):
// in the text as it will be saved, without list bullets and numbers.
//
// <textarea data-word-count id="text"> ... <p id="text-word-count">You have written 0 words</p>
// The visible count changes as the person types; screen readers hear it once typing pauses.

import { countWords } from "./text-tidy.mjs";

export { countWords };

function message(count) {
  return `You have written ${count.toLocaleString("en-GB")} word${count === 1 ? "" : "s"}`;
}

export function initWordCounts(root = document) {
  for (const textarea of root.querySelectorAll("textarea[data-word-count]")) {
    const visible = document.getElementById(`${textarea.id}-word-count`);
    if (!visible) continue;
    visible.setAttribute("aria-hidden", "true");
    const status = document.createElement("div");
    status.className = "govuk-visually-hidden";
    status.setAttribute("aria-live", "polite");
    visible.after(status);
    let timer;
    const update = () => {
      visible.textContent = message(countWords(textarea.value));
      clearTimeout(timer);
      timer = setTimeout(() => { status.textContent = visible.textContent; }, 1000);
    };
    textarea.addEventListener("input", update);
    visible.textContent = message(countWords(textarea.value));
  }
}
