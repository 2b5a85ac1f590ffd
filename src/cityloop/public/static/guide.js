// A QR placement's phone page: you-are-here and the nearest service of each kind on a small map.
(function () {
  const el = document.getElementById("guide-map");
  const lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
  const map = window.publicMap("guide-map", lat, lon, 17);
  L.circleMarker([lat, lon], { radius: 9, color: "#d9480f", fillOpacity: 0.8 }).addTo(map).bindTooltip(cityloop.esc(el.dataset.here), { permanent: true });
  const points = [[lat, lon]];
  const markers = JSON.parse(el.dataset.markers || "[]");
  window.cityloopMap.legend(map, [["#d9480f", ["您在这里", "You are here"]],
    ...window.publicKindLegend([...new Set(markers.map((m) => m.kind))])]);
  for (const m of markers) {
    L.circleMarker([m.lat, m.lon], { radius: 7, color: window.publicColors[m.kind] || "#333" }).addTo(map).bindPopup(cityloop.esc(m.name));
    points.push([m.lat, m.lon]);
  }
  if (points.length > 1) map.fitBounds(points, { padding: [24, 24], maxZoom: 18, animate: false });
})();
