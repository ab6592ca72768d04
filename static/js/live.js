// The one mechanism that keeps every screen current: every page's live regions (elements with an
// id and data-live: the navigation's counts, the banner, a dashboard's tiles and charts, the
// firing alerts, the silences, a checklist run's evidence) are fetched again together, in one
// request, on the interval the body names (data-live-interval, seconds), from the URL it names
// (data-live-url: the page itself, or the navigation's fragment on pages with no live region
// of their own). Each region is replaced by the element with the same id in the answer.
//
// Why polling and not server-sent events: every answer is the server's ordinary rendering of
// the page, cached where it is dear (chart data is shared between viewers), and a poll holds
// no connection open per viewer in a web worker that has eight threads.
//
// - While the tab is hidden nothing is fetched; when it shows again a round runs at once if
//   one was missed (the catch-up).
// - A region that holds the focus or an input someone has changed is left alone that round,
//   so that nobody loses what they were typing.
// - While a mouse button or a finger is down, an answer waits ("live:held") and lands after
//   the click its release makes: a new region above would move the button being pressed, and
//   a press released elsewhere is no click. The newest answer waits; a press lasts at most
//   data-live-hold seconds on the body (10), for a release the page never hears.
// - The header says when the page last updated, and says plainly when it cannot: the server
//   does not answer, answers with an error, or the session ended (then polling stops).
// - Before a region is replaced, "live:before" is dispatched on it; after, "live:after" on the
//   new one (charts.js keeps each chart's zoom and hidden series across the swap).
(function () {
  "use strict";
  var body = document.body;
  var url = body.dataset.liveUrl;
  var seconds = Number(body.dataset.liveInterval) || 15;
  var loginPath = body.dataset.loginPath || "/accounts/login/";
  if (!url) return;

  var pressed = {};  // pointerId: when it went down
  var held = null;  // {page, at}: the newest answer that arrived while pressed
  var releases = 0;  // how many releases there have been
  var releasing = 0;  // the number of a release whose click has not come yet
  var failure = null;  // {at, text}: the latest round that could not update
  var lastOk = new Date();
  var lastRound = Date.now();
  var inFlight = false;
  var stopped = false;
  var timer = null;

  function status() {
    return document.getElementById("live-status");
  }

  function clock(date) {
    return date.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit",
                                        hour12: false});
  }

  function say(state, text, link) {
    var el = status();
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      el.append(" ", a);
    }
  }

  // A select is changed when its choice is not the one the page came with: the option marked
  // selected, or else (single choice) the first.
  function isChanged(select) {
    var options = select.options;
    if (select.multiple) {
      for (var j = 0; j < options.length; j++) {
        if (options[j].selected !== options[j].defaultSelected) return true;
      }
      return false;
    }
    var initial = 0;
    for (var k = 0; k < options.length; k++) {
      if (options[k].defaultSelected) { initial = k; break; }
    }
    return options.length > 0 && select.selectedIndex !== initial;
  }

  function isBusy(region) {
    // a refused form, its errors on screen, stays until it is sent again
    if (region.querySelector('[aria-invalid="true"]')) return true;
    if (region.contains(document.activeElement) && document.activeElement !== region &&
        document.activeElement.matches("input, select, textarea, button, [contenteditable]")) {
      return true;
    }
    var fields = region.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden" || f.type === "submit") continue;
      if (f.type === "checkbox" || f.type === "radio") {
        if (f.checked !== f.defaultChecked) return true;
      } else if (f.tagName === "SELECT") {
        if (isChanged(f)) return true;
      } else if (f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }

  // What someone opened to read (a <details>) stays open in the new region.
  function keepOpen(old, adopted) {
    var before = old.querySelectorAll("details");
    var after = adopted.querySelectorAll("details");
    if (before.length !== after.length) return;
    for (var i = 0; i < before.length; i++) after[i].open = before[i].open;
  }

  // The answer may name another interval (a run page polls fast while its run is active).
  function follow(fresh) {
    var next = Number(fresh.body && fresh.body.dataset.liveInterval);
    if (next && next !== seconds) {
      seconds = next;
      window.clearInterval(timer);
      timer = null;
      if (!document.hidden) start();
    }
  }

  function swap(fresh) {
    var regions = document.querySelectorAll("[data-live][id]");
    var changed = 0;
    regions.forEach(function (old) {
      var next = fresh.getElementById(old.id);
      if (!next || isBusy(old)) return;
      old.dispatchEvent(new CustomEvent("live:before", {bubbles: true}));
      var adopted = document.importNode(next, true);
      keepOpen(old, adopted);
      old.replaceWith(adopted);
      if (window.htmx) window.htmx.process(adopted);
      adopted.dispatchEvent(new CustomEvent("live:after", {bubbles: true}));
      changed++;
    });
    return changed;
  }

  function fail(text) {
    failure = {at: new Date(), text: text};
    sayFailing();
  }

  function sayFailing() {
    say("failing", "Cannot update: " + failure.text + "; last updated " + clock(lastOk) +
        ", retrying.");
  }

  // An answer that arrived ``at``: its regions swapped in, its interval followed, the header
  // told (a round that failed after it arrived is still the news).
  function land(fresh, at) {
    swap(fresh);
    follow(fresh);
    lastOk = at;
    // A round that was already under way when the tab hid lands afterwards: it must not
    // cover the pause with "Updated".
    if (document.hidden) say("paused", "Paused while the tab is hidden; last updated " + clock(lastOk));
    else if (failure && failure.at > at) sayFailing();
    else say("ok", "Updated " + clock(lastOk));
    body.dispatchEvent(new CustomEvent("live:updated", {bubbles: true}));
  }

  function isPressed() {
    var longest = (Number(body.dataset.liveHold) || 10) * 1000;
    for (var id in pressed) {
      if (Date.now() - pressed[id] < longest) return true;
    }
    return false;
  }

  function isHolding() {
    return isPressed() || releasing !== 0;
  }

  // The held answer lands once nothing is pressed and the release's click has been handled:
  // a touch's click comes in a task of its own after the release, a drag makes none.
  function release() {
    if (isPressed()) return;
    var number = ++releases;
    releasing = number;
    var landed = false;
    function go() {
      if (landed) return;
      landed = true;
      document.removeEventListener("click", afterClick, true);
      if (releasing !== number) return;  // a later release decides
      releasing = 0;
      if (stopped || held === null || isPressed()) return;
      var next = held;
      held = null;
      land(next.page, next.at);
    }
    function afterClick() { window.setTimeout(go, 0); }
    document.addEventListener("click", afterClick, true);
    window.setTimeout(go, 300);
  }

  document.addEventListener("pointerdown", function (event) {
    if (event.button === 0) pressed[event.pointerId] = Date.now();  // not a right click
  }, true);
  function lift(event) {
    delete pressed[event.pointerId];
    release();
  }
  document.addEventListener("pointerup", lift, true);
  document.addEventListener("pointercancel", lift, true);
  // A release outside the window may never reach the page (a right click is no press, and a
  // touch that becomes a long press or a scroll is cancelled).
  function forget() {
    pressed = {};
    release();
  }
  window.addEventListener("blur", forget);

  function round() {
    if (stopped || inFlight || document.hidden) return;
    if (held !== null && !isHolding()) {  // a press that outlasted its hold, never released
      var late = held;
      held = null;
      land(late.page, late.at);
    }
    inFlight = true;
    lastRound = Date.now();
    fetch(url, {headers: {"HX-Request": "true", "X-Live-Refresh": "1"},
                credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        var landed = new URL(response.url, location.href);
        if (response.status === 401 || response.status === 403 ||
            (response.redirected && landed.pathname === loginPath)) {
          stopped = true;
          held = null;
          say("ended", "Your session ended: this page no longer updates.",
              {href: loginPath + "?next=" + encodeURIComponent(location.pathname + location.search),
               text: "Sign in again"});
          return null;
        }
        if (!response.ok) {
          fail("the server answered " + response.status);
          return null;
        }
        return response.text();
      })
      .then(function (text) {
        if (text === null || text === undefined) return;
        var fresh = new DOMParser().parseFromString(text, "text/html");
        if (isHolding()) {
          held = {page: fresh, at: new Date()};  // it replaces an older one that still waits
          body.dispatchEvent(new CustomEvent("live:held", {bubbles: true}));
          return;
        }
        held = null;
        land(fresh, new Date());
      })
      .catch(function () {
        fail("the server does not answer");
      })
      .finally(function () {
        inFlight = false;
      });
  }

  function start() {
    if (timer === null) timer = window.setInterval(round, seconds * 1000);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      window.clearInterval(timer);
      timer = null;
      if (!stopped) say("paused", "Paused while the tab is hidden; last updated " + clock(lastOk));
      forget();  // nobody presses a hidden page
      return;
    }
    if (stopped) return;
    if (failure && failure.at > lastOk) sayFailing();
    else say("ok", "Updated " + clock(lastOk));
    if (Date.now() - lastRound >= seconds * 1000) round();  // the catch-up
    start();
  });

  say("ok", "Updated " + clock(lastOk));
  if (!document.hidden) start();
})();
