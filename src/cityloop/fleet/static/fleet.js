// Shared helpers of the fleet pages: labels, time formatting, the map with sites, zones and roads (no base tiles:
// nothing is fetched from outside; the layers themselves draw the county).
(function () {
  const t = cityloop.t;
  const KIND = "violation";  // violation kinds come from the one vocabulary (web/vocab.py)
  const STATUS = { open: ["可申诉", "Open"], appealed: ["申诉中", "Appealed"], upheld: ["已认定", "Upheld"],
    cancelled: ["已撤销", "Cancelled"], pending: ["待审核", "Pending"], approved: ["已核准", "Approved"],
    rejected: ["已驳回", "Rejected"], revoked: ["已撤销", "Revoked"], expired: ["已过期", "Expired"] };
  const COLORS = { construction: "#d97706", disposal: "#15803d", depot: "#64748b", restricted: "#dc2626",
    speed: "#7c3aed", road: "#2563eb" };
  const esc = cityloop.esc;
  const label = (table, key) => (typeof table === "string" ? cityloop.label(table, key)
    : table[key] ? t(table[key][0], table[key][1]) : t("其他", "other"));
  const fmt = cityloop.when;
  const SITE_NAMES = { construction: ["工地", "Construction site"], disposal: ["消纳场", "Disposal site"],
    depot: ["停车场", "Depot"], restricted: ["禁行区", "Restricted zone"], speed: ["限速区", "Speed zone"],
    road: ["限速道路", "Speed-limited road"] };
  // The fleet map with its legend: the sites, zones and roads, then the page's own rows ([colour, [zh, en], shape]).
  function map(id, extra) {
    const m = window.cityloopMap(id, { zoomSnap: 0.25, zoom: 12 });
    window.cityloopMap.legend(m, [...Object.entries(SITE_NAMES).map(([k, name]) =>
      [COLORS[k], name, k === "road" ? "line" : "area"]), ...(extra || [])]);
    return m;
  }
  async function layers(m) {
    const fc = await cityloop.api("GET", "/api/v1/fleet/map");
    const layer = L.geoJSON(fc, {
      style: (f) => ({ color: COLORS[f.properties.kind] || "#555", weight: f.properties.kind === "road" ? 4 : 2,
        fillOpacity: 0.15 }),
    }).bindTooltip((l) => esc(l.feature.properties.name) +
      (l.feature.properties.speed_limit ? ` · ${l.feature.properties.speed_limit} km/h` : ""));
    layer.addTo(m);
    if (layer.getBounds().isValid()) m.fitBounds(layer.getBounds());
    return fc;
  }
  function describe(v) {
    const d = v.details || {};
    if (v.kind === "speeding") return `${d.speed_kmh} km/h > ${d.limit_kmh} km/h`;
    if (v.kind === "restricted") return esc(d.zone);
    if (v.kind === "out_of_hours") return `${d.local_time} (${esc(d.hours)})`;
    if (v.kind === "off_route") return `${d.metres} m`;
    return d.duration_s !== undefined ? `${d.duration_s} s` : "";
  }
  window.fleet = { KIND, STATUS, esc, label, fmt, map, layers, describe };
})();
