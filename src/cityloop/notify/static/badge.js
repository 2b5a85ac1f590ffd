// The header's unread badge: polls /api/v1/notifications/unread and, when the user allowed it, shows a browser
// notification for each new message while a page is open.
(function () {
  const badge = document.getElementById("notify-badge");
  if (!badge) return;
  const count = badge.querySelector(".count");
  const t = window.cityloop.t;
  let newest = null;

  async function announce(since) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const page = await window.cityloop.api("GET", "/api/v1/notifications?unread_only=true&limit=5");
    for (const item of page.items.filter((i) => i.id > since).reverse()) {
      const n = new Notification(item.title, { body: item.body, tag: "cityloop-" + item.id });
      n.onclick = () => { window.focus(); location.href = item.link || "/console/notifications"; };
    }
  }

  async function poll() {
    try {
      const data = await window.cityloop.api("GET", "/api/v1/notifications/unread");
      count.hidden = data.unread === 0;
      count.textContent = data.unread > 99 ? "99+" : String(data.unread);
      badge.title = t("未读消息 " + data.unread + " 条", data.unread + " unread");
      if (newest !== null && data.newest_id && data.newest_id > newest) await announce(newest);
      if (data.newest_id) newest = Math.max(newest || 0, data.newest_id);
      else if (newest === null) newest = 0;
    } catch (err) {
      if (err.status === 401) return;  // logged out: stop polling
    }
    setTimeout(poll, 30000);
  }

  const ask = document.getElementById("notify-permission");
  if (ask) {
    if (!("Notification" in window) || Notification.permission !== "default") ask.hidden = true;
    ask.addEventListener("click", () => Notification.requestPermission().then(() => { ask.hidden = true; }));
  }
  poll();
})();
