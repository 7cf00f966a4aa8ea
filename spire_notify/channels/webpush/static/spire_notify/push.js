// "Enable browser notifications": registers the push service worker, asks for permission,
// subscribes this browser to push and posts the subscription to the server.
(function () {
  "use strict";

  var button = document.querySelector("[data-push-subscribe]");
  if (!button) { return; }
  var status = document.querySelector("[data-push-status]");

  function say(text) { status.textContent = text; }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    button.disabled = true;
    say("This browser cannot show push notifications.");
    return;
  }

  function applicationServerKey(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(base64);
    return Uint8Array.from(raw, function (character) { return character.charCodeAt(0); });
  }

  function send(subscription) {
    return fetch(button.dataset.subscribeUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": button.dataset.csrfToken },
      body: JSON.stringify(subscription),
    });
  }

  function answered(response) {
    if (!response.ok) { throw new Error("the server answered " + response.status); }
  }

  function subscribe(worker) {
    return worker.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: applicationServerKey(button.dataset.applicationServerKey),
    });
  }

  // 409: this browser's subscription is another account's (someone else subscribed here
  // before). The server never moves it between accounts; a fresh subscription, with a new
  // endpoint, is this account's own, and the old one ends for the other account.
  function renew(subscription) {
    return subscription.unsubscribe()
      .then(function () { return registration; })
      .then(subscribe)
      .then(send)
      .then(answered);
  }

  function post(subscription) {
    return send(subscription).then(function (response) {
      return response.status === 409 ? renew(subscription) : answered(response);
    });
  }

  function subscribed() {
    say("Browser notifications are on.");
    button.hidden = true;
  }

  var registration = navigator.serviceWorker.register(button.dataset.serviceWorkerUrl);

  button.addEventListener("click", function () {
    button.disabled = true;
    say("Asking for permission…");
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") { throw new Error(permission); }
        say("Subscribing…");
        return registration;
      })
      .then(subscribe)
      .then(post)
      .then(subscribed)
      .catch(function (error) {
        button.disabled = false;
        if (error.message === "denied") {
          say("Notifications are blocked for this site in the browser's settings.");
        } else if (error.message === "default") {
          say("Permission was not given.");
        } else {
          say("Could not subscribe: " + error.message);
        }
      });
  });

  // A browser already subscribed posts its subscription again: the server may have dropped it.
  registration
    .then(function (worker) { return worker.pushManager.getSubscription(); })
    .then(function (subscription) {
      if (subscription && Notification.permission === "granted") { return post(subscription).then(subscribed); }
    })
    .catch(function () {});
})();
