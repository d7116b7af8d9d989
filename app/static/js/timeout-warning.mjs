// The session time-out warning (templates/main/_timeout_warning.html), GOV.UK's timeout warning
// pattern: a modal dialog opens `data-warning-seconds` before the session's idle limit, says when
// the person will be signed out, and counts down. "Stay signed in" (or Escape) posts the dialog's
// form, with its security token, to keep the session going, and the count starts again. The
// visible countdown changes every second but is hidden from screen readers; a live region says
// the time left when the dialog opens and then once a minute (every 15 seconds in the last
// minute), so nothing is announced every second. When the time is up the dialog says so and
// offers to sign in again, leaving the page (and whatever was typed) where it is.
//
// Events on the dialog, for whoever needs to follow it: "timeout-warning:open",
// "timeout-warning:extended" (detail: seconds left) and "timeout-warning:ended".

const MINUTE = 60;

function inWords(seconds) {
  if (seconds >= MINUTE) {
    const minutes = Math.ceil(seconds / MINUTE);
    return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

function clockTime(date) {
  // "3:45pm", as GOV.UK writes times.
  const hours = date.getHours();
  const minutes = String(date.getMinutes()).padStart(2, "0");
  return `${hours % 12 || 12}:${minutes}${hours < 12 ? "am" : "pm"}`;
}

export function initTimeoutWarning(dialog = document.querySelector("dialog[data-module='pb-timeout-warning']")) {
  if (!dialog || typeof dialog.showModal !== "function") return;
  const warningSeconds = Number(dialog.dataset.warningSeconds);
  const form = dialog.querySelector("form[data-timeout-stay]");
  const countdown = dialog.querySelector("[data-timeout-countdown]");
  const announce = dialog.querySelector("[data-timeout-announce]");
  const at = dialog.querySelector("[data-timeout-at]");
  const active = dialog.querySelector("[data-timeout-active]");
  const ended = dialog.querySelector("[data-timeout-ended]");
  let endsAt = Date.now() + Number(dialog.dataset.secondsLeft) * 1000;
  let openTimer = null;
  let tickTimer = null;
  let lastAnnounced = null;
  let returnFocusTo = null;
  let sending = false;

  function secondsLeft() {
    return Math.max(0, Math.round((endsAt - Date.now()) / 1000));
  }

  function schedule() {
    clearTimeout(openTimer);
    openTimer = setTimeout(open, Math.max(0, endsAt - warningSeconds * 1000 - Date.now()));
  }

  function tick() {
    const left = secondsLeft();
    if (left <= 0) {
      end();
      return;
    }
    countdown.textContent = `For your security, we will sign you out in ${inWords(left)}.`;
    const step = left > MINUTE ? MINUTE : 15;
    const bucket = Math.ceil(left / step);
    if (bucket !== lastAnnounced) {
      lastAnnounced = bucket;
      announce.textContent = `For your security, we will sign you out in ${inWords(left)}.`;
    }
  }

  function open() {
    if (dialog.open) return;
    returnFocusTo = document.activeElement;
    at.textContent = clockTime(new Date(endsAt));
    lastAnnounced = null;
    active.hidden = false;
    ended.hidden = true;
    tick();
    dialog.showModal(); // focus moves to the first button in the dialog: "Stay signed in"
    clearInterval(tickTimer);
    tickTimer = setInterval(tick, 1000);
    dialog.dispatchEvent(new CustomEvent("timeout-warning:open"));
  }

  function close() {
    clearInterval(tickTimer);
    if (dialog.open) dialog.close();
    if (returnFocusTo && typeof returnFocusTo.focus === "function") returnFocusTo.focus();
  }

  function end() {
    clearInterval(tickTimer);
    active.hidden = true;
    ended.hidden = false;
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("[data-timeout-ended-title]").focus();
    dialog.dispatchEvent(new CustomEvent("timeout-warning:ended"));
  }

  async function stay() {
    if (sending) return;
    sending = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.includes("application/json")) throw new Error("not extended");
      const { seconds_left: seconds, csrf_token: token } = await response.json();
      endsAt = Date.now() + seconds * 1000;
      // A fresh security token for every form on the page, so what is typed next can be saved.
      for (const input of document.querySelectorAll("input[name='csrf_token']")) input.value = token;
      close();
      schedule();
      dialog.dispatchEvent(new CustomEvent("timeout-warning:extended", { detail: seconds }));
    } catch {
      form.submit(); // the ordinary form: keeps the session and comes back to this page
    } finally {
      sending = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    stay();
  });
  // Escape means "stay signed in" (while the session lasts; afterwards there is nothing to keep).
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    if (!active.hidden) stay();
  });
  schedule();
}
