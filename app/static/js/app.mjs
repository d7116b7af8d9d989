// Start GOV.UK Frontend's components, and warn before leaving a form with unsaved changes.
import { CharacterCount, createAll, initAll } from "../dist/govuk-frontend.min.js";
import { initSelectAll } from "./select-all.mjs";
import { initTableScrolls } from "./table-scroll.mjs";
import { initTimeoutWarning } from "./timeout-warning.mjs";
import { countWords } from "./text-tidy.mjs";
import { initWordCounts } from "./word-count.mjs";

// GOV.UK's character count in words mode, counting words as the server does (app/text.py): its
// "You have X words remaining" is then what the page says after saving. Its textareas are given
// this module's name before initAll, so GOV.UK's own count does not start on them as well.
class WordLimit extends CharacterCount {
  static moduleName = "pb-word-limit";

  updateCount() {
    if (this.config.maxwords) {
      this.count = countWords(this.$textarea.value);
    } else {
      super.updateCount();
    }
  }
}

for (const root of document.querySelectorAll('[data-module="govuk-character-count"][data-maxwords]')) {
  root.dataset.module = WordLimit.moduleName;
}
initAll();
createAll(WordLimit);
initWordCounts();
initTableScrolls();
initTimeoutWarning();
initSelectAll();

// <button data-module="pb-print">: "Print this page" (shown only when JavaScript runs, see _print.scss).
for (const button of document.querySelectorAll('[data-module="pb-print"]')) {
  button.addEventListener("click", () => window.print());
}

// <form data-warn-unsaved>: warn when leaving the page after typing in it, but not when sending it.
// <form data-warn-unsaved="changed">: the page shows text that is not saved yet (a conflict, or
// text kept when a session had ended), so warn even before any typing.
for (const form of document.querySelectorAll("form[data-warn-unsaved]")) {
  let dirty = form.dataset.warnUnsaved === "changed";
  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("submit", () => { dirty = false; });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
}
