// Shared map setup of the public pages: the shared helper (static/js/map.js) with the configured base map, never
// a CDN; without a point of view it opens on the deployment's urban centre at `zoom`.
window.publicMap = function (id, lat, lon, zoom) {
  return lat == null ? window.cityloopMap(id, { zoom }) : window.cityloopMap(id, { center: [lat, lon], zoom });
};
window.publicColors = { toilet: "#0b5cad", water: "#0891b2", red_station: "#c62828", convenience: "#d9480f",
  medical: "#2e7d32", transit: "#6b21a8", food: "#b45309", lodging: "#475569", shopping: "#be185d" };
window.publicKindNames = { toilet: ["公厕", "Public toilet"], water: ["饮水点", "Drinking water"],
  red_station: ["红色驿站", "Red service station"], convenience: ["便民服务点", "Convenience point"], medical: ["医疗", "Medical"],
  transit: ["公交/出行", "Transit"], food: ["餐饮", "Food"], lodging: ["住宿", "Lodging"], shopping: ["购物", "Shopping"] };
// The legend rows of the service point kinds (those given, or all of them).
window.publicKindLegend = (kinds) => (kinds || Object.keys(window.publicColors))
  .filter((k) => window.publicColors[k]).map((k) => [window.publicColors[k], window.publicKindNames[k]]);
