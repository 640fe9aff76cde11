// storyline: progressive enhancement only; every page works without this file.
// Shows <time datetime> values in the reader's own time zone.
(function () {
  "use strict";
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric",
                                               hour: "2-digit", minute: "2-digit", hourCycle: "h23",
                                               timeZoneName: "short" });
  } catch (e) { return; }
  document.addEventListener("DOMContentLoaded", function () {
    var nodes = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var d = new Date(nodes[i].getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        nodes[i].title = nodes[i].textContent;
        if (!nodes[i].classList.contains("short")) { nodes[i].textContent = fmt.format(d); }
      }
    }
  });
})();
