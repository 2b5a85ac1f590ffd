// The grids page: duty grids over unit grids on a map, and each duty grid's inspectors saved through the geo API.
(async function () {
  const map = window.cityloopMap("grid-map");
  window.cityloopMap.legend(map, [["#0b5cad", ["责任网格", "Duty grid"], "area"], ["#7a8ca3", ["单元网格", "Unit grid"], "area"]]);
  const duty = await cityloop.api("GET", "/api/v1/geo/duty-grids.geojson");
  const grids = await cityloop.api("GET", "/api/v1/geo/grids");
  L.geoJSON(grids, { style: { color: "#7a8ca3", weight: 0.5, fillOpacity: 0.05 } }).addTo(map);
  const layer = L.geoJSON(duty, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.08 },
    onEachFeature: (f, l) => l.bindTooltip(cityloop.esc(f.properties.name + " · " + f.properties.unit_grids)) }).addTo(map);
  if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
})();
document.querySelectorAll(".staff-form").forEach((f) => f.addEventListener("submit", async (e) => {
  e.preventDefault();
  const usernames = f.usernames.value.split(",").map((s) => s.trim()).filter(Boolean);
  try { await cityloop.api("PUT", `/api/v1/geo/duty-grids/${f.dataset.code}/inspectors`, { usernames }); location.reload(); }
  catch (err) { document.querySelector(".message").textContent = err.message; }
}));
