// Start GOV.UK Frontend's components, and warn before leaving a form with unsaved changes.
import { initAll } from "../dist/govuk-frontend.min.js";
import { initSelectAll } from "./select-all.mjs";
import { initTableScrolls } from "./table-scroll.mjs";
import { initTimeoutWarning } from "./timeout-warning.mjs";
import { initWordCounts } from "./word-count.mjs";

initAll();
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
