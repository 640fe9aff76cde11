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

// "New since your last visit" on the front page, remembered in this browser only (localStorage,
// no account). The baseline is the newest coverage time the reader was shown (the page's
// data-as-of), not the wall clock, so archives behave like live data. Within one browser session
// (sessionStorage) the baseline stays put, so reloading does not clear the marks.
(function () {
  "use strict";
  var LAST = "storyline.lastVisit", SESSION = "storyline.sessionSince";
  function store(kind) { try { return window[kind]; } catch (e) { return null; } }
  document.addEventListener("DOMContentLoaded", function () {
    var head = document.querySelector("[data-as-of]");
    var local = store("localStorage"), session = store("sessionStorage");
    if (!head || !local) { return; }
    var asOf = head.getAttribute("data-as-of");
    var since = session ? session.getItem(SESSION) : null;
    if (since === null) {
      since = local.getItem(LAST) || "";
      if (session) { session.setItem(SESSION, since); }
    }
    if (asOf && (!local.getItem(LAST) || new Date(asOf) > new Date(local.getItem(LAST)))) {
      local.setItem(LAST, asOf);
    }
    var sinceDate = new Date(since);
    if (!since || isNaN(sinceDate.getTime())) { return; }
    var cards = document.querySelectorAll(".card[data-story][data-last-seen]"), moved = 0;
    for (var i = 0; i < cards.length; i++) {
      var seen = new Date(cards[i].getAttribute("data-last-seen"));
      if (isNaN(seen.getTime()) || seen <= sinceDate) { continue; }
      moved += 1;
      cards[i].classList.add("moved");
      var link = document.createElement("a");
      link.className = "new-since";
      link.href = "/stories/" + encodeURIComponent(cards[i].getAttribute("data-story")) +
                  "?since=" + encodeURIComponent(since) + "#update";
      link.textContent = "New since your last visit";
      var meta = cards[i].querySelector(".meta");
      (meta || cards[i]).appendChild(document.createTextNode(" · "));
      (meta || cards[i]).appendChild(link);
    }
    var note = document.createElement("p");
    note.className = "visit-note meta";
    note.textContent = moved ? moved + (moved === 1 ? " story has" : " stories have") +
      " new reports since your last visit." : "Nothing new since your last visit.";
    head.appendChild(note);
  });
})();
