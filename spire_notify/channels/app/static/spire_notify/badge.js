// Keeps every notification badge on the page current: by polling the unread-count endpoint,
// or from the live inbox's events (live.js) when the project turns them on.
(function () {
  "use strict";

  function show(badge, unread) {
    var count = badge.querySelector("[data-unread-count]");
    var label = badge.querySelector("[data-unread-label]");
    count.textContent = String(unread);
    count.hidden = unread === 0;
    label.textContent = unread === 1 ? "1 unread notification" : unread + " unread notifications";
    badge.dataset.unread = String(unread);
  }

  function refresh(badge) {
    return fetch(badge.dataset.countUrl, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && typeof data.unread === "number") { show(badge, data.unread); }
      })
      // A signed-out session or a network blip: keep the last count, try again next time.
      .catch(function () {});
  }

  function start(badge) {
    // live.js (NOTIFY_LIVE_UPDATES) announces counts as they change; polling is the fallback.
    document.addEventListener("spire-notify:unread", function (event) { show(badge, event.detail.unread); });
    document.addEventListener("spire-notify:refresh", function () { refresh(badge); });
    if (badge.dataset.eventsUrl) {
      document.addEventListener("spire-notify:live-lost", function () { poll(badge); }, { once: true });
      return;
    }
    poll(badge);
  }

  function poll(badge) {
    var interval = parseInt(badge.dataset.pollMilliseconds, 10) || 15000;
    window.setInterval(function () {
      if (document.visibilityState === "visible") { refresh(badge); }
    }, interval);
    // Coming back to a tab (or to a page from the back/forward cache) shows the current count at once.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { refresh(badge); }
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { refresh(badge); }
    });
  }

  document.querySelectorAll("[data-notification-badge]").forEach(start);
})();
