// The public services map: every active point, filtered by kind; "nearest to me" ranks by walking distance.
(function () {
  const t = cityloop.t;
  const list = document.getElementById("service-list");
  const msg = document.getElementById("msg");
  const map = window.publicMap("services-map", null, null, 14);
  const layer = L.layerGroup().addTo(map);
  window.cityloopMap.legend(map, window.publicKindLegend());
  let kind = "";

  function item(p, extra) {
    const li = document.createElement("li");
    const head = document.createElement("div");
    head.className = "near-head";
    const name = document.createElement("b");
    name.className = "name";
    name.textContent = p.name;
    const kindTag = document.createElement("span");
    kindTag.className = "dist";
    kindTag.textContent = extra || p.kind_name;
    head.append(name, kindTag);
    const info = document.createElement("div");
    info.className = "small muted";
    info.textContent = [p.address, p.hours, p.drinking_water ? t("可饮水", "drinking water") : ""].filter(Boolean).join(" · ");
    li.append(head, info);
    if (p.kit) { const k = document.createElement("div"); k.className = "small kit"; k.textContent = t("服务包：", "Kit: ") + p.kit.join("、"); li.append(k); }
    return li;
  }
  function show(points, extras) {
    layer.clearLayers();
    list.replaceChildren();
    const bounds = [];
    points.forEach((p, i) => {
      L.circleMarker([p.lat, p.lon], { radius: 7, color: window.publicColors[p.kind] || "#333" }).addTo(layer).bindPopup(cityloop.esc(p.name));
      bounds.push([p.lat, p.lon]);
      list.append(item(p, extras && extras[i]));
    });
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17, animate: false });
    if (!points.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = t("没有符合条件的服务点位", "Nothing found"); list.append(li); }
  }
  async function load() {
    const q = kind ? `?kind=${kind}` : "";
    const data = await (await fetch(`/api/v1/public/points${q}`, { headers: { "Accept-Language": cityloop.lang } })).json();
    show(data.features.map((f) => ({ ...f.properties, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] })));
  }
  document.getElementById("kinds").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-kind]");
    if (!b) return;
    document.querySelectorAll("#kinds .chip").forEach((c) => c.classList.toggle("active", c === b));
    kind = b.dataset.kind;
    load();
  });
  document.getElementById("near-me").addEventListener("click", () => {
    if (!navigator.geolocation) { msg.textContent = t("此设备不支持定位", "No location on this device"); return; }
    msg.textContent = t("正在定位…", "Locating…");
    navigator.geolocation.getCurrentPosition(async (pos) => {
      const q = new URLSearchParams({ lon: pos.coords.longitude, lat: pos.coords.latitude, limit: 20 });
      if (kind) q.append("kind", kind);
      const items = await (await fetch(`/api/v1/public/nearby?${q}`, { headers: { "Accept-Language": cityloop.lang } })).json();
      msg.textContent = "";
      show(items, items.map((i) => i.direction));
    }, () => { msg.textContent = t("无法获取位置", "Location unavailable"); }, { timeout: 10000 });
  });
  load();
})();
