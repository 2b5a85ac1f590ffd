// 部门处置通 service worker: keeps the app shell and the last answers of its GET calls (the case list, cases,
// photos), so the app opens and shows the cases without a network. Writes never pass through here: the page
// queues them in IndexedDB (channels/static/outbox.js).
const CACHE = "cityloop-department-v1";
const SHELL = ["/m/department", "/department-app/static/department.js", "/department-app/static/department.css",
  "/channels/static/outbox.js", "/channels/static/channels.css", "/channels/static/icon.svg",
  "/static/css/app.css", "/static/js/app.js", "/static/vendor/leaflet.js", "/static/vendor/leaflet.css",
  "/static/vendor/protomaps-leaflet.js", "/map/config.js", "/static/js/map.js", "/vocab.js?lang=zh"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("cityloop-department") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// Network first (always fresh when online), the cached copy when offline.
self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) return;
  const mine = SHELL.includes(url.pathname) || url.pathname.startsWith("/api/v1/") || url.pathname.startsWith("/static/vendor/");
  if (!mine) return;
  event.respondWith(fetch(req).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(req, copy));
    }
    return res;
  }).catch(() => caches.match(req).then((hit) => hit || Response.error())));
});
