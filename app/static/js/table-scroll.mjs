// Tables in a scroll container (app/templates/macros/tables.html) that are wider than it scroll
// sideways inside it. While one does, keyboard users need to reach it to scroll it: it becomes a
// keyboard stop, a region named by its table's caption (or the heading that labels the table).
// While it fits, it is none of these, so that it is not an empty stop on the way through the page.
// Checked again whenever the window (or the text size) changes.

function tableName(container) {
  const table = container.querySelector("table");
  if (!table) return "";
  const caption = table.querySelector("caption");
  let source = caption;
  if (!source && table.hasAttribute("aria-labelledby")) {
    source = document.getElementById(table.getAttribute("aria-labelledby"));
  }
  if (!source) return table.getAttribute("aria-label") || "";
  const copy = source.cloneNode(true);
  for (const link of copy.querySelectorAll("a")) link.remove(); // "– change the budget"
  return copy.textContent.replace(/\s+/g, " ").replace(/[\s–-]+$/, "").trim();
}

function update(container) {
  const scrolls = container.scrollWidth > container.clientWidth;
  if (scrolls) {
    container.setAttribute("tabindex", "0");
    container.setAttribute("role", "region");
    container.setAttribute("aria-label", tableName(container));
  } else {
    container.removeAttribute("tabindex");
    container.removeAttribute("role");
    container.removeAttribute("aria-label");
  }
}

export function initTableScrolls() {
  const containers = [...document.querySelectorAll('[data-module="pb-table-scroll"]')];
  if (!containers.length) return;
  const updateAll = () => containers.forEach(update);
  updateAll();
  if ("ResizeObserver" in window) {
    const observer = new ResizeObserver(updateAll);
    // The container's width follows the window's; the table's follows the text size too.
    for (const container of containers) {
      observer.observe(container);
      const table = container.querySelector("table");
      if (table) observer.observe(table);
    }
  } else {
    window.addEventListener("resize", updateAll);
  }
}
