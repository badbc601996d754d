// Dashboard refresh: polls the page's JSON every few seconds and updates the port cards and the
// queue in place. Values are set with textContent / setAttribute only: never parsed as HTML.
"use strict";
(function () {
  var grid = document.getElementById("ports");
  if (!grid) { return; }
  var source = grid.getAttribute("data-source");
  var seconds = parseInt(grid.getAttribute("data-refresh"), 10) || 5;

  function update(data) {
    document.getElementById("queue").textContent = String(data.queue);
    data.ports.forEach(function (p) {
      var card = grid.querySelector('[data-port="' + Number(p.port) + '"]');
      if (!card) { return; }
      ["state", "sim", "slot", "operator", "reg", "signal", "sent", "failed", "recovery"]
        .forEach(function (name) {
          var el = card.querySelector('[data-field="' + name + '"]');
          if (el) { el.textContent = String(p[name]); }
        });
      var line = card.querySelector("polyline");
      if (line) { line.setAttribute("points", p.points); }
    });
  }

  function poll() {
    fetch(source, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.status === 401) { window.location = "/login?next=/dashboard"; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () { /* the box may be restarting: try again next time */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }
  window.setTimeout(poll, seconds * 1000);
})();
