// The network page's trial banner: count the seconds down, then reload to show what is in force
// (the rolled-back settings, or nothing if the box is no longer reachable here).
"use strict";
(function () {
  var banner = document.getElementById("network-pending");
  var shown = document.getElementById("network-countdown");
  if (!banner || !shown) { return; }
  var left = parseInt(banner.getAttribute("data-seconds-left"), 10) || 0;
  var tick = window.setInterval(function () {
    left -= 1;
    shown.textContent = String(Math.max(left, 0));
    if (left <= -2) {
      window.clearInterval(tick);
      window.location.replace("/network");
    }
  }, 1000);
}());
