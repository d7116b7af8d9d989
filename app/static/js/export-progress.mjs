// The export progress page (app/templates/exports/show.html): a worker makes the file (app/jobs);
// this script asks how it is going every 1.5 seconds and shows the download link when it is ready.
// Without this script the page has a link to look again.
const POLL_MS = 1500;
const FINISHED = new Set(["ready", "failed", "removed"]);

const region = document.getElementById("export-status");
const announcement = document.getElementById("export-announcement");
if (region && announcement) {
  start(region);
}

// Screen readers hear this once: the status message (role="status") is the page's one live region.
const announce = (text) => {
  announcement.textContent = text.replace(/\s+/g, " ").trim();
};

function start(region) {
  const { state, statusUrl } = region.dataset;
  if (FINISHED.has(state)) return;

  const hideNoJs = () => {
    for (const element of region.querySelectorAll("[data-export-nojs]")) {
      element.hidden = true;
    }
  };
  hideNoJs();

  const show = (answer) => {
    region.dataset.state = answer.state;
    region.innerHTML = answer.html;
    const heading = region.querySelector("[data-export-announce]");
    if (heading) announce(`${heading.textContent}.`);
    const focus = region.querySelector("[data-export-focus]");
    if (focus) focus.focus();
  };

  const problem = () => {
    const message = region.querySelector("[data-export-message]");
    const text = "We could not check on your file. Reload the page to see whether it is ready.";
    if (message) message.textContent = text;
    announce(text);
  };

  const poll = () => {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(async (response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const answer = await response.json();
        if (FINISHED.has(answer.state)) {
          show(answer);
          return;
        }
        if (answer.state !== region.dataset.state) {
          // Still going, but something changed (started, or being made again): show what, quietly.
          region.dataset.state = answer.state;
          region.innerHTML = answer.html;
          hideNoJs();
        }
        setTimeout(poll, POLL_MS);
      })
      .catch(problem);
  };

  setTimeout(poll, POLL_MS);
}
