// Shared map setup of the public pages: the shared helper (static/js/map.js) with the configured base map, never
// a CDN; without a point of view it opens on the deployment's urban centre at `zoom`.
window.publicMap = function (id, lat, lon, zoom) {
  return lat == null ? window.cityloopMap(id, { zoom }) : window.cityloopMap(id, { center: [lat, lon], zoom });
};
window.publicColors = { toilet: "#0b5cad", water: "#0891b2", red_station: "#c62828", convenience: "#d9480f",
  medical: "#2e7d32", transit: "#6b21a8", food: "#b45309", lodging: "#475569", shopping: "#be185d" };
