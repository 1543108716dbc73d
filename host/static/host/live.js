/* Greenroom live regions: the host's poller.
 *
 * Any element with data-live-src (a fragment URL) and data-live-interval (seconds) is kept
 * current. The loop sends If-None-Match and does nothing on a 304; never has two requests in
 * flight; pauses while the tab is hidden and refreshes at once when it is shown; backs off
 * exponentially on errors up to 60 s; keeps the last good content on an error; and shows
 * "Updated N s ago" with a visible stale/error mark. No inline script: CSP allows none.
 */
(function () {
  "use strict";

  var MAX_BACKOFF_MS = 60000;
  var regions = [];

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* fetch() with the session cookie and the CSRF header, for plugin scripts. */
  function hostFetch(url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    if (!headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", csrfToken());
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    return fetch(url, Object.assign({}, options, { headers: headers, credentials: "same-origin" }));
  }

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    if (h < 48) return h + " h";
    return Math.floor(h / 24) + " d";
  }

  /* <time data-relative datetime="..."> shows "5 min ago"; the exact time stays in its title. */
  function relativeTimes(root) {
    var nodes = (root || document).querySelectorAll("time[data-relative]");
    var now = Date.now();
    for (var i = 0; i < nodes.length; i++) {
      var at = Date.parse(nodes[i].getAttribute("datetime"));
      if (isNaN(at)) continue;
      var diff = now - at;
      var text = Math.abs(diff) < 60000 ? "just now" : (diff < 0 ? "in " + ago(-diff) : ago(diff) + " ago");
      if (nodes[i].textContent !== text) nodes[i].textContent = text;
    }
  }

  function LiveRegion(el) {
    this.el = el;
    this.src = el.getAttribute("data-live-src");
    this.interval = Math.max(0.2, parseFloat(el.getAttribute("data-live-interval") || "10")) * 1000;
    this.body = el.querySelector("[data-live-body]") || el;
    this.age = el.querySelector("[data-live-age]");
    this.mark = el.querySelector("[data-live-mark]");
    this.etag = el.getAttribute("data-live-etag");  // the first paint's, from the server
    this.inFlight = false;
    this.failures = 0;
    this.lastOk = Date.now();
    this.lastError = null;
    this.timer = null;
    this.stats = { requests: 0, updated: 0, notModified: 0, errors: 0 };
    el.greenroomLive = this;
    var self = this;
    el.addEventListener("click", function (event) {
      var target = event.target.closest("[data-live-refresh]");
      if (target && el.contains(target)) {
        event.preventDefault();
        self.refreshNow();
      }
    });
    this.schedule(this.interval);
    this.render();
  }

  LiveRegion.prototype.schedule = function (delay) {
    var self = this;
    clearTimeout(this.timer);
    this.nextAt = Date.now() + delay;
    this.timer = setTimeout(function () { self.tick(); }, delay);
  };

  LiveRegion.prototype.delay = function () {
    if (!this.failures) return this.interval;
    return Math.min(this.interval * Math.pow(2, this.failures), MAX_BACKOFF_MS);
  };

  LiveRegion.prototype.refreshNow = function () {
    clearTimeout(this.timer);
    if (!this.inFlight) this.tick();
  };

  LiveRegion.prototype.tick = function () {
    var self = this;
    if (document.hidden) { this.paused = true; return; }  // resumed by visibilitychange
    if (this.inFlight) return;
    this.inFlight = true;
    this.stats.requests += 1;
    var headers = { "X-Greenroom-Fragment": "1", "Accept": "text/html" };
    if (this.etag) headers["If-None-Match"] = this.etag;
    fetch(this.src, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 304) {
          self.stats.notModified += 1;
          return self.succeeded();
        }
        return response.text().then(function (text) {
          if (response.ok) {
            self.body.innerHTML = text;  // server-rendered by the plugin's escaping template
            relativeTimes(self.body);
            self.etag = response.headers.get("ETag");
            self.stats.updated += 1;
            self.succeeded();
            self.el.dispatchEvent(new CustomEvent("greenroom:live-updated", { bubbles: true }));
          } else if (response.status === 401) {
            self.failed("Signed out: reload the page to sign in again", null);
          } else {
            var type = response.headers.get("Content-Type") || "";
            self.failed("Update failed (HTTP " + response.status + ")", type.indexOf("text/html") === 0 ? text : null);
          }
        });
      })
      .catch(function (error) {
        self.failed("Update failed: " + (error && error.message ? error.message : "network error"), null);
      })
      .then(function () {
        self.inFlight = false;
        self.schedule(self.delay());
        self.render();
      });
  };

  LiveRegion.prototype.succeeded = function () {
    this.failures = 0;
    this.lastOk = Date.now();
    this.lastError = null;
    this.setErrorHtml(null);
  };

  LiveRegion.prototype.failed = function (message, html) {
    this.failures += 1;
    this.stats.errors += 1;
    this.lastError = message;
    this.setErrorHtml(html);
  };

  /* A non-2xx HTML answer (a plugin's error banner) is shown above the kept content. */
  LiveRegion.prototype.setErrorHtml = function (html) {
    var slot = this.el.querySelector("[data-live-error]");
    if (!html) {
      if (slot) slot.remove();
      return;
    }
    if (!slot) {
      slot = document.createElement("div");
      slot.setAttribute("data-live-error", "");
      this.el.insertBefore(slot, this.body);
    }
    slot.innerHTML = html;
  };

  LiveRegion.prototype.render = function () {
    var stale = this.failures > 0;
    this.el.classList.toggle("live-stale", stale);
    this.el.setAttribute("data-live-state", stale ? "error" : (this.paused ? "paused" : "ok"));
    if (this.mark) this.mark.textContent = stale ? "stale" : (this.paused ? "paused" : "live");
    if (this.age) {
      var text = "Updated " + ago(Date.now() - this.lastOk) + " ago";
      if (stale) {
        text += " · " + this.lastError + " · retrying in " + ago(Math.max(0, this.nextAt - Date.now()));
      }
      this.age.textContent = text;
    }
  };

  function start() {
    relativeTimes(document);
    var nodes = document.querySelectorAll("[data-live-src]");
    for (var i = 0; i < nodes.length; i++) {
      if (!nodes[i].greenroomLive) regions.push(new LiveRegion(nodes[i]));
    }
  }

  document.addEventListener("visibilitychange", function () {
    regions.forEach(function (region) {
      if (!document.hidden) {
        region.paused = false;
        region.refreshNow();
      }
      region.render();
    });
  });

  setInterval(function () { regions.forEach(function (r) { r.render(); }); }, 1000);
  setInterval(function () { relativeTimes(document); }, 15000);

  window.greenroom = {
    fetch: hostFetch, csrfToken: csrfToken, regions: regions, start: start, relativeTimes: relativeTimes
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
