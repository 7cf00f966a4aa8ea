// The live inbox (NOTIFY_LIVE_UPDATES): follows the user's server-sent events, so the badge and
// the inbox list change the moment a notification is written or read, with no polling.
// badge.js shows the counts this announces, and polls again only if the stream is lost for good:
// the server refuses it (a stream over the user's cap answers 429, which EventSource gives up on)
// or ends it with a stream-error (live updates turned off, the session ended).
(function () {
  "use strict";

  var badge = document.querySelector("[data-notification-badge][data-events-url]");
  if (!badge) { return; }

  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent("spire-notify:" + name, { detail: detail }));
  }

  if (!window.EventSource) { announce("live-lost"); return; }

  function onFirstPage() {
    var page = new URLSearchParams(window.location.search).get("page");
    return !page || page === "1";
  }

  function inboxList() {
    var list = document.querySelector("ul.inbox");
    var empty = document.querySelector(".empty");
    if (!list && empty) {
      list = document.createElement("ul");
      list.className = "inbox";
      empty.replaceWith(list);
    }
    return list;
  }

  function fill(node, item) {
    node.dataset.notificationId = String(item.id);
    node.querySelectorAll("form").forEach(function (form) {
      form.setAttribute("action", form.getAttribute("action").replace("/0/", "/" + item.id + "/"));
    });
    node.querySelector('[data-field="title"]').textContent = item.title;
    node.querySelector('[data-field="body"]').textContent = item.body;
    node.querySelector('[data-field="created_at"]').setAttribute("datetime", item.created_at);
    var pill = node.querySelector('[data-field="priority"]');
    if (item.priority) {
      pill.textContent = item.priority;
      pill.classList.add("pill-" + item.priority.toLowerCase().replace(/[^a-z0-9]+/g, "-"));
      pill.hidden = false;
    }
  }

  function prepend(item) {
    var template = document.querySelector("template[data-inbox-item-template]");
    if (!template || !onFirstPage()) { return; }
    if (document.querySelector('li[data-notification-id="' + item.id + '"]')) { return; }
    var list = inboxList();
    if (!list) { return; }
    var node = template.content.firstElementChild.cloneNode(true);
    fill(node, item);
    list.insertBefore(node, list.firstChild);
  }

  function markRead(item) {
    item.classList.remove("is-unread");
    var dot = item.querySelector(".unread-dot");
    if (dot) {
      dot.className = "read-dot";
      if (dot.nextElementSibling && dot.nextElementSibling.classList.contains("visually-hidden")) {
        dot.nextElementSibling.remove();
      }
    }
    item.querySelectorAll('form[action$="/read/"]').forEach(function (form) { form.remove(); });
  }

  var source = new EventSource(badge.dataset.eventsUrl);

  source.addEventListener("stream-open", function () {
    // Events sent before the stream opened are gone: those between rendering the page and opening
    // it, those while it was down, and those django-eventstream drops as a stream starts (it keeps
    // no events to read back). Each time it opens, fetch the count once.
    badge.dataset.live = "open";
    announce("refresh");
  });
  source.addEventListener("notifications", function (event) {
    var data = JSON.parse(event.data);
    announce("unread", { unread: data.unread });
    data.notifications.forEach(prepend);
  });
  source.addEventListener("read", function (event) {
    var data = JSON.parse(event.data);
    announce("unread", { unread: data.unread });
    document.querySelectorAll("li.notification.is-unread[data-notification-id]").forEach(function (item) {
      if (data.read === null || data.read.indexOf(Number(item.dataset.notificationId)) !== -1) { markRead(item); }
    });
  });
  source.addEventListener("stream-error", function () {
    source.close();
    badge.dataset.live = "lost";
    announce("live-lost");
  });
  source.addEventListener("error", function () {
    badge.dataset.live = source.readyState === EventSource.CLOSED ? "lost" : "reconnecting";
    if (source.readyState === EventSource.CLOSED) { announce("live-lost"); }
  });
})();
