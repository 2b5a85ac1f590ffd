// The big screen: figures, charts, the map with live case markers (and sensors and trucks where those areas are
// installed), refreshed whenever the server's event stream says the case loop moved.
(function () {
  const t = window.cityloop.t, api = window.cityloop.api, esc = window.cityloop.esc, body = document.body;
  const LIGHT = { green: "#1ec96b", yellow: "#ffc53d", red: "#ff4d4f", grey: "#8c9bab" };
  const charts = {};
  let lastEvent = 0;

  const TZ = { timeZone: "Asia/Shanghai" };

  function clock() {
    document.getElementById("clock").textContent = new Date().toLocaleString(t("zh-CN", "en-GB"), TZ);
  }

  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }

  function chart(id, option) {
    charts[id] = charts[id] || echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    charts[id].setOption(Object.assign({ backgroundColor: "transparent", textStyle: { color: "#9fb8d4" } }, option), true);
  }

  function renderSummary(s) {
    document.querySelectorAll("#figures b[data-k]").forEach((b) => {
      const v = s.figures[b.dataset.k];
      b.textContent = b.dataset.k.endsWith("rate") ? pct(v) : v;
    });
    const axis = { axisLine: { lineStyle: { color: "#35608f" } }, splitLine: { lineStyle: { color: "#123a63" } } };
    chart("trend", {
      grid: { left: 34, right: 10, top: 24, bottom: 22 }, legend: { textStyle: { color: "#9fb8d4" }, top: 0 },
      tooltip: { trigger: "axis" },
      xAxis: Object.assign({ type: "category", data: s.trend.map((d) => d.date.slice(5)) }, axis),
      yAxis: Object.assign({ type: "value" }, axis),
      series: [{ name: t("上报", "reported"), type: "line", smooth: true, data: s.trend.map((d) => d.reported) },
               { name: t("结案", "closed"), type: "line", smooth: true, data: s.trend.map((d) => d.closed) }],
    });
    chart("categories", {
      grid: { left: 90, right: 20, top: 6, bottom: 20 }, tooltip: {},
      xAxis: Object.assign({ type: "value" }, axis),
      yAxis: Object.assign({ type: "category", inverse: true, data: s.categories.map((c) => c.name) }, axis),
      series: [{ type: "bar", data: s.categories.map((c) => c.count), itemStyle: { color: "#3aa0ff" } }],
    });
    chart("sources", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["40%", "70%"], label: { color: "#9fb8d4" },
                 data: s.sources.map((x) => ({ name: x.name, value: x.count })) }],
    });
    document.getElementById("ranking").innerHTML = s.ranking.map((r) =>
      `<li><span>${esc(r.department)}</span><b>${pct(r.on_time_rate)}</b></li>`).join("") ||
      `<li>${t("本月暂无处置数据", "No handling data this month yet")}</li>`;
  }

  // ---- map
  const map = window.cityloopMap("map", { zoomControl: false });
  window.cityloopMap.legend(map, [[LIGHT.green, ["案件 · 正常", "Case · on time"]], [LIGHT.yellow, ["案件 · 预警", "Case · warning"]],
    [LIGHT.red, ["案件 · 超时", "Case · overdue"]], [LIGHT.grey, ["案件 · 挂账/暂停计时", "Case · suspended/paused"]],
    ["#36cfc9", ["监测设备", "Sensor"]], ["#b37feb", ["渣土车", "Muck truck"]], ["#ff4d4f", ["告警", "Alarm"]],
    ["#8c9bab", ["离线设备/车辆", "Offline device/truck"]], ["#36cfc9", ["责任网格", "Duty grid"], "area"]], "bottomleft");
  const caseLayer = L.layerGroup().addTo(map), sensorLayer = L.layerGroup().addTo(map), truckLayer = L.layerGroup().addTo(map);
  let fitted = false;

  async function boundaries() {
    const [district, duty] = await Promise.all([
      api("GET", "/api/v1/geo/regions.geojson?level=district").catch(() => null),
      api("GET", "/api/v1/geo/duty-grids.geojson").catch(() => null)]);
    if (district) L.geoJSON(district, { style: { color: "#2f6fb0", weight: 2, fill: false } }).addTo(map);
    if (duty && duty.features.length) {
      const layer = L.geoJSON(duty, {
        style: { color: "#36cfc9", weight: 1, fillColor: "#1d4a7a", fillOpacity: 0.25 },
        onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.name)),
      }).addTo(map);
      map.fitBounds(layer.getBounds().pad(0.05)); fitted = true;
    } else if (district && district.features.length) {
      map.fitBounds(L.geoJSON(district).getBounds()); fitted = true;
    }
  }

  // Only the viewport's open cases; past a few hundred the server sends grid clusters (聚合) instead.
  async function renderMarkers() {
    let url = "/api/v1/screen/markers";
    if (fitted) {
      const b = map.getBounds().pad(0.1);
      const box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v, i) =>
        Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v)).toFixed(5));
      url += `?bbox=${box.join(",")}&zoom=${Math.round(map.getZoom())}`;
    }
    const rows = await api("GET", url);
    caseLayer.clearLayers();
    for (const m of rows) {
      if (m.cluster) {
        L.marker([m.lat, m.lon], { icon: L.divIcon({ className: "case-cluster" + (m.overdue ? " late" : ""),
          html: `<span>${esc(m.count)}</span>`, iconSize: [34, 34] }) })
          .bindTooltip(esc(`${m.count} ${t("件在办", "open cases")}${m.overdue ? ` · ${m.overdue} ${t("件超时", "overdue")}` : ""}`))
          .on("click", () => map.setView([m.lat, m.lon], map.getZoom() + 2))
          .addTo(caseLayer);
        continue;
      }
      L.circleMarker([m.lat, m.lon], { radius: m.urgent ? 7 : 5, color: LIGHT[m.light] || "#fff", weight: 1,
        fillColor: LIGHT[m.light] || "#fff", fillOpacity: 0.85 })
        .bindTooltip(esc(`${m.number} · ${m.category_name || ""}`))
        .on("click", () => window.open(`/console/cases/${m.id}`, "_blank"))
        .addTo(caseLayer);
    }
    map.getContainer().dataset.cases = caseLayer.getLayers().length;  // what each layer shows, for people and tests
    if (!fitted && rows.length) { map.fitBounds(caseLayer.getLayers().map((l) => l.getLatLng())); fitted = true; }
  }
  let moved = null;
  map.on("moveend", () => { clearTimeout(moved); moved = setTimeout(renderMarkers, 250); });

  // Devices give lat/lon; vehicles their newest fix as last_lat/last_lon.
  function position(r) { return [r.lat ?? r.last_lat ?? null, r.lon ?? r.last_lon ?? null]; }
  const ONLINE_MS = 15 * 60 * 1000;  // a truck that reported within this time counts as online
  const LEVELS = new Proxy({}, { get: (_, k) => cityloop.label("level", k) });  // the one vocabulary (web/vocab.py)
  const STATUS = new Proxy({}, { get: (_, k) => cityloop.label("sensor_status", k) });

  async function renderOptional(url, layer, color, label, figure, count, name) {
    // Sensors and trucks belong to their own areas; the screen shows them when those APIs answer.
    let rows;
    try { rows = await api("GET", url); } catch (e) { return; }
    rows = Array.isArray(rows) ? rows : rows.items || [];
    const fig = document.getElementById(figure);
    if (fig) { fig.classList.remove("hidden"); fig.querySelector("b").textContent = rows.filter(count).length; }
    layer.clearLayers();
    for (const r of rows) {
      const [lat, lon] = position(r);
      if (lat === null || lon === null) continue;
      const alarm = r.status === "alarm" || r.alarm === true;
      const quiet = r.status === "offline" || r.status === "silent" || r.online === false;
      L.circleMarker([lat, lon], { radius: alarm ? 7 : 4, weight: alarm ? 2 : 1,
        color: alarm ? "#ff4d4f" : quiet ? "#8c9bab" : color, fillOpacity: 0.9 })
        .bindTooltip(esc(label(r))).addTo(layer);
    }
    const box = map.getContainer().dataset;
    box[name] = layer.getLayers().length;
    if (name === "sensors") box.sensorAlarms = rows.filter(count).length;
  }

  async function renderFeed() {
    const events = await api("GET", `/api/v1/screen/events?after=0`);
    lastEvent = events.length ? events[0].event_id : lastEvent;
    document.getElementById("feed").innerHTML = events.map((e) =>
      `<li>${new Date(e.at).toLocaleTimeString(t("zh-CN", "en-GB"), TZ)} <a href="/console/cases/${esc(e.case_id)}" target="_blank">${esc(e.number)}</a> ${esc(e.text)}</li>`).join("");
  }

  async function refresh() {
    const [s] = await Promise.all([api("GET", "/api/v1/screen/summary"), renderMarkers(), renderFeed()]);
    renderSummary(s);
    body.dataset.version = s.version;
    renderLive();
  }

  function renderLive() {
    renderOptional("/api/v1/sensors/devices", sensorLayer, "#36cfc9",
      (r) => `${r.name || r.code} · ${r.type_name || ""} · ${STATUS[r.status] || ""}${r.level ? " · " + (LEVELS[r.level] || "") : ""}`,
      "fig-alarms", (r) => r.status === "alarm", "sensors");
    renderOptional("/api/v1/fleet/vehicles", truckLayer, "#b37feb",
      (r) => `${r.plate}${r.last_speed !== null && r.last_speed !== undefined ? " · " + Math.round(r.last_speed) + " km/h" : ""}`,
      "fig-trucks", (r) => position(r)[0] !== null && r.last_at && Date.now() - Date.parse(r.last_at) < ONLINE_MS, "trucks");
  }
  setInterval(renderLive, 15000);  // devices and trucks move without case events

  clock(); setInterval(clock, 1000);
  boundaries().then(refresh);
  let pending = null;
  const stream = new EventSource("/api/v1/screen/stream");
  stream.addEventListener("change", (e) => {
    const v = JSON.parse(e.data).version;
    if (String(v) === body.dataset.version) return;
    clearTimeout(pending);
    pending = setTimeout(refresh, 300);  // several changes in a burst: one refresh
  });
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
})();
