// crop-progress dashboard: keeps the page live from /events (server-sent events).
// The server sends finished HTML for a card or an audit-trail row; this script only
// puts it in place, so the page works (without live updates) when scripts are off.
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;
  var key = body.dataset.key || "";
  var live = document.getElementById("live");
  var footer = document.getElementById("daemon");
  var connected = false;
  var daemon = !footer || footer.classList.contains("on");

  function setLive() {
    if (!live) return;
    var on = connected && daemon;
    live.className = on ? "live on" : "live off";
    live.title = on ? "live: changes show as they happen"
      : connected ? "cropd is not running: nothing changes until it does"
      : "not live: reconnecting";
  }

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  function totals() {
    var done = 0, total = 0;
    document.querySelectorAll("#dirs .card").forEach(function (c) {
      done += Number(c.dataset.done) || 0;
      total += Number(c.dataset.total) || 0;
    });
    var d = document.getElementById("total-done");
    var t = document.getElementById("total-images");
    if (d) d.textContent = String(done);
    if (t) t.textContent = String(total);
    var bar = document.querySelector(".tile.wide svg.bar rect.done");
    if (bar) bar.setAttribute("width", String(total ? (1000 * done / total).toFixed(1) : 0));
  }

  function onStatus(e) {
    var d = JSON.parse(e.data);
    var fresh = fragment(d.card);
    if (!fresh) return;
    var old = document.querySelector('.card[data-id="' + CSS.escape(d.id) + '"]');
    if (old) {
      if (old.querySelector("h2 a") && fresh.querySelector("h2 a")) {
        fresh.querySelector("h2 a").textContent = old.querySelector("h2 a").textContent;
      }
      old.replaceWith(fresh);
    } else if (page === "overview") {
      var list = document.getElementById("dirs");
      if (list) list.prepend(fresh);
    }
    if (page === "overview") totals();
  }

  function onOp(e) {
    var d = JSON.parse(e.data);
    if (page !== "directory" || d.key !== key) return;
    var trail = document.getElementById("trail");
    var row = fragment(d.row);
    if (!trail || !row) return;
    trail.prepend(row);
    while (trail.children.length > 200) trail.lastElementChild.remove();
  }

  function onDaemon(e) {
    var d = JSON.parse(e.data);
    daemon = !!d.running;
    setLive();
    if (!footer || !d.line) return;
    footer.textContent = d.line;
    footer.className = "daemon " + (d.running ? "on" : "off");
  }

  if (!window.EventSource) return;
  var source = new EventSource("/events");
  source.onopen = function () { connected = true; setLive(); };
  source.onerror = function () { connected = false; setLive(); };
  source.addEventListener("status", onStatus);
  source.addEventListener("op", onOp);
  source.addEventListener("daemon", onDaemon);
})();
