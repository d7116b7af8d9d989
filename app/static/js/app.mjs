// Start GOV.UK Frontend's components, and warn before leaving a form with unsaved changes.
import { initAll } from "../dist/govuk-frontend.min.js";

initAll();

for (const form of document.querySelectorAll("form[data-warn-unsaved]")) {
  let dirty = false;
  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("submit", () => { dirty = false; });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
}
