// The waiting sign-in page: once the sign-in is approved on another device
// (or refused, or over), load the page again, which then finishes it. Every
// few seconds it asks the server where the sign-in stands; until then a
// half-typed code is left alone. Without JavaScript the "Continue" link on
// the page does the same, when pressed.
(function () {
  "use strict";
  var waiting = document.getElementById("waiting");
  if (!waiting || !window.fetch) {
    return;
  }
  var statusUrl = waiting.getAttribute("data-status");
  var continueUrl = waiting.getAttribute("data-continue");
  var every = 3000;

  function ask() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (standing) {
        if (standing && standing.state !== "waiting") {
          window.location.assign(continueUrl);
        } else {
          window.setTimeout(ask, every);
        }
      })
      .catch(function () { window.setTimeout(ask, 2 * every); });
  }

  window.setTimeout(ask, every);
})();
