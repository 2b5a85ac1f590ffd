// Shared map setup of the public pages: a Leaflet map with the configured tile server (if any), never a CDN.
window.publicMap = function (id, lat, lon, zoom) {
  const el = document.getElementById(id);
  const map = L.map(id, { attributionControl: !!el.dataset.tiles }).setView([lat, lon], zoom);
  if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
  return map;
};
window.publicColors = { toilet: "#0b5cad", water: "#0891b2", red_station: "#c62828", convenience: "#d9480f",
  medical: "#2e7d32", transit: "#6b21a8", food: "#b45309", lodging: "#475569", shopping: "#be185d" };
