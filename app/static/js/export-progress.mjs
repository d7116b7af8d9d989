// The export progress page (app/templates/exports/show.html): ask the server to make the file,
// then show the download link. While another request is making it, check every 1.5 seconds.
// Without this script the page has a "Prepare the file" button that does the same.
const POLL_MS = 1500;
const FINISHED = new Set(["ready", "failed", "stale", "removed"]);

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
  const { state, prepareUrl, statusUrl, csrfToken } = region.dataset;
  if (FINISHED.has(state)) return;
  for (const element of region.querySelectorAll("[data-export-nojs]")) {
    element.hidden = true;
  }

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

  const handle = async (response) => {
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const answer = await response.json();
    if (FINISHED.has(answer.state)) {
      show(answer);
    } else if (answer.state === "pending") {
      setTimeout(prepare, POLL_MS); // tried again after a failure: make it
    } else {
      setTimeout(poll, POLL_MS); // someone else is making it
    }
  };

  const poll = () => {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(handle)
      .catch(problem);
  };

  const prepare = () => {
    fetch(prepareUrl, {
      method: "POST",
      headers: { Accept: "application/json" },
      body: new URLSearchParams({ csrf_token: csrfToken }),
      credentials: "same-origin",
    })
      .then(handle)
      .catch(problem);
  };

  if (state === "pending") {
    prepare();
  } else {
    poll();
  }
}
