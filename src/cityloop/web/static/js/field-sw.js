// The field apps' service worker (城管通, 部门处置通): keeps the app shell and the last answers of its GET calls,
// so the app opens and shows its tasks without a network. Writes never pass through here: the page queues them in
// IndexedDB (channels/static/outbox.js). The server puts `APP = {cache, prefix, shell}` above this text.
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(APP.cache).then((c) => c.addAll(APP.shell)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith(APP.prefix) && k !== APP.cache).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// Network first (always fresh when online), the cached copy when offline.
self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) return;
  const mine = APP.shell.includes(url.pathname) || url.pathname.startsWith("/api/v1/") || url.pathname.startsWith("/static/vendor/");
  if (!mine) return;
  event.respondWith(fetch(req).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(APP.cache).then((c) => c.put(req, copy));
    }
    return res;
  }).catch(() => caches.match(req).then((hit) => hit || Response.error())));
});
