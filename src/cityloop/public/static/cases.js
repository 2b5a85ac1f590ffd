// Closed cases on a map: rounded positions, category and date only (the API gives nothing more).
(function () {
  const t = cityloop.t;
  const map = window.publicMap("cases-map", null, null, 13);
  window.cityloopMap.legend(map, [["#1a9e55", ["已结案问题（位置已模糊）", "Closed case (rounded place)"]]]);
  fetch("/api/v1/public/closed-cases", { headers: { "Accept-Language": cityloop.lang } }).then((r) => r.json()).then((fc) => {
    const counts = {};
    const bounds = [];
    for (const f of fc.features) {
      const [lon, lat] = f.geometry.coordinates;
      const p = f.properties;
      counts[p.category] = (counts[p.category] || 0) + 1;
      L.circleMarker([lat, lon], { radius: 4, color: "#1a9e55", weight: 1, fillOpacity: 0.6 }).addTo(map)
        .bindPopup(cityloop.esc(`${p.category} · ${t("结案", "closed")} ${p.closed_on}`));
      bounds.push([lat, lon]);
    }
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16, animate: false });
    document.getElementById("case-count").textContent = t(`共 ${fc.features.length} 件`, `${fc.features.length} cases`);
    const body = document.querySelector("#case-table tbody");
    for (const [name, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) {
      const tr = document.createElement("tr");
      const a = document.createElement("td"); a.textContent = name;
      const b = document.createElement("td"); b.textContent = n;
      tr.append(a, b);
      body.append(tr);
    }
  });
})();
