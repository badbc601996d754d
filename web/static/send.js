// Send page: the live counter (characters, parts and the alphabet the service will use, asked of
// /send/plan: the box's own rules, not a copy of GSM-7 here) and a sent task's progress bar.
"use strict";
(function () {
  var form = document.querySelector("form.send");
  var counter = document.getElementById("counter");
  if (form && counter) {
    var text = form.querySelector('[name="text"]');
    var port = form.querySelector('[name="port"]');
    var timer = null;
    var ask = function () {
      var url = counter.getAttribute("data-source") + "?text=" + encodeURIComponent(text.value) +
        "&port=" + encodeURIComponent(port.value);
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) { return; }
          counter.textContent = d.error ? d.chars + " characters: " + d.error :
            d.chars + " characters, " + d.parts + " part(s), " + d.encoding;
        }).catch(function () {});
    };
    var later = function () { window.clearTimeout(timer); timer = window.setTimeout(ask, 250); };
    text.addEventListener("input", later);
    port.addEventListener("change", later);
    if (text.value) { ask(); }
  }

  var task = document.getElementById("task");
  if (task) {
    var bar = document.getElementById("progress");
    var label = document.getElementById("progress-text");
    var stop = document.getElementById("stop");
    var poll = function () {
      fetch(task.getAttribute("data-source"),
            {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) { return; }
          bar.max = d.total;
          bar.value = d.done;
          label.textContent = d.done + " of " + d.total + " done, " + d.failed + " failed";
          if (d.finished) { stop.hidden = true; return; }
          window.setTimeout(poll, 1000);
        }).catch(function () { window.setTimeout(poll, 3000); });
    };
    poll();
  }
})();
