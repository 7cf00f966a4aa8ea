// The service worker of browser push: shows each push, and opens its page when clicked.
self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { title: event.data.text() };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "New notification", {
      body: data.body || "",
      data: { url: data.url || "/" },
      tag: data.url || undefined,
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL(event.notification.data.url || "/", self.location.origin);
  // Only pages of this site: a push names a relative URL.
  if (url.origin !== self.location.origin) { return; }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var index = 0; index < windows.length; index += 1) {
        if (windows[index].url === url.href && "focus" in windows[index]) { return windows[index].focus(); }
      }
      return self.clients.openWindow(url.href);
    })
  );
});
