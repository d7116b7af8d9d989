// "Select all" and "Select none" buttons for a list of checkboxes (the CSPs taking part in a round,
// the contributions on the review overview). Without JavaScript the buttons are not there and the
// form works as it is: the person ticks each box.
//
// <div data-select-all="input[name='contributions']" data-select-all-noun="contribution"
//      data-select-all-nouns="contributions" hidden></div>
// The selector finds the checkboxes in the holder's form. The buttons go in the holder, which is
// then shown; a status message says how many are selected after each press ("14 CSPs selected").

function countMessage(count, noun, nouns) {
  if (count === 0) return `No ${nouns} selected`;
  return `${count.toLocaleString("en-GB")} ${count === 1 ? noun : nouns} selected`;
}

function button(text) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "govuk-button govuk-button--secondary govuk-!-margin-bottom-0";
  element.textContent = text;
  return element;
}

export function initSelectAll(root = document) {
  for (const holder of root.querySelectorAll("[data-select-all]")) {
    const scope = holder.closest("form") ?? document;
    const boxes = () => [...scope.querySelectorAll(holder.dataset.selectAll)].filter(
      (box) => box.type === "checkbox" && !box.disabled,
    );
    if (boxes().length === 0) continue;
    const noun = holder.dataset.selectAllNoun ?? "item";
    const nouns = holder.dataset.selectAllNouns ?? `${noun}s`;

    const group = document.createElement("div");
    group.className = "govuk-button-group govuk-!-margin-bottom-4";
    const all = button("Select all");
    const none = button("Select none");
    group.append(all, none);
    const status = document.createElement("div");
    status.className = "govuk-visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    holder.append(group, status);
    holder.hidden = false;

    const setAll = (checked) => {
      for (const box of boxes()) {
        // A click, as a person's: GOV.UK Frontend shows or hides a box's conditional content
        // (a CSP's manager), and the page notices the change (the unsaved-changes warning).
        if (box.checked !== checked) box.click();
      }
      status.textContent = countMessage(boxes().filter((box) => box.checked).length, noun, nouns);
    };
    all.addEventListener("click", () => setAll(true));
    none.addEventListener("click", () => setAll(false));
  }
}
