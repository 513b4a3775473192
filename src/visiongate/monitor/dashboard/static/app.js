// Live updates: replace #live with the server-rendered fragment at body[data-refresh].
// The server escapes everything it renders; this script only swaps HTML it produced.
(function () {
  "use strict";
  var body = document.body;
  var source = body && body.getAttribute("data-refresh");
  var target = document.getElementById("live");
  if (!source || !target) { return; }
  var interval = 2000;
  var busy = false;

  function finished() {
    return target.querySelector("[data-final]") !== null;
  }

  function tick() {
    if (busy || document.hidden || finished()) { return; }
    // Do not replace the section while the user is reading an opened <details>.
    if (target.querySelector("details[open]")) { return; }
    busy = true;
    fetch(source, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (text !== null && text !== target.innerHTML) {
          target.innerHTML = text;
          body.setAttribute("data-updated", String(Date.now()));
        }
      })
      .catch(function () { /* the server may be restarting; try again next tick */ })
      .then(function () { busy = false; });
  }

  window.setInterval(tick, interval);
})();
