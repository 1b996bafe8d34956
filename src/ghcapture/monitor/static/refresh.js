// Keeps an open page current without a full reload: every few seconds it asks the server for the page's
// content alone (the same URL, marked by a header) and swaps it in. Pages work without it.
(function () {
  "use strict";
  var main = document.getElementById("page");
  if (!main) return;
  var seconds = parseFloat(main.getAttribute("data-refresh") || "0");
  if (!(seconds > 0)) return;
  var stamp = document.getElementById("refreshed");
  function refresh() {
    var busy = document.activeElement;
    // Not while the page is hidden, nor under the hands of someone choosing a filter.
    if (document.hidden || (busy && main.contains(busy) && /^(SELECT|INPUT|TEXTAREA)$/.test(busy.tagName))) {
      schedule();
      return;
    }
    fetch(window.location.href, { headers: { "X-Ghcapture-Fragment": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }  // signed out: show the form
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          main.innerHTML = html;
          if (stamp) stamp.textContent = new Date().toLocaleTimeString();
          main.dispatchEvent(new CustomEvent("ghcapture:refreshed", { bubbles: true }));
        }
      })
      .catch(function () { /* the server is away for a moment: try again next time */ })
      .then(schedule);
  }
  function schedule() { window.setTimeout(refresh, seconds * 1000); }
  schedule();
})();
