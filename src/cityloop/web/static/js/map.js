// The one way every page builds a Leaflet map: cityloopMap(el, options) adds the configured base layer (the local
// vector tiles, a tile URL, or none: window.CITYLOOP_MAP from /map/config.js) and, unless the page gives a
// `center`, opens on the deployment's urban centre at `zoom`, or fits its district. When the tiles are drawn in GCJ-02 the map's projection shifts every
// WGS84 overlay onto them (and clicks come back in WGS84).
(function () {
  const cfg = window.CITYLOOP_MAP || { source: "none", bounds: null, crs: "wgs84" };

  // WGS84 → GCJ-02, from the published formulas (Krasovsky ellipsoid); GCJ-02 → WGS84 by fixed-point iteration.
  const A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  const outside = (lat, lon) => lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  function dLat(x, y) {
    let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    return r + (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
  }
  function dLon(x, y) {
    let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    return r + (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
  }
  function toGcj(lat, lon) {
    if (outside(lat, lon)) return [lat, lon];
    const rad = lat / 180 * PI, s = Math.sin(rad), magic = 1 - EE * s * s, sq = Math.sqrt(magic);
    const la = dLat(lon - 105, lat - 35) * 180 / ((A * (1 - EE)) / (magic * sq) * PI);
    const lo = dLon(lon - 105, lat - 35) * 180 / (A / sq * Math.cos(rad) * PI);
    return [lat + la, lon + lo];
  }
  function fromGcj(lat, lon) {
    let la = lat, lo = lon;
    for (let i = 0; i < 6; i++) { const g = toGcj(la, lo); la += lat - g[0]; lo += lon - g[1]; }
    return [la, lo];
  }
  const merc = L.Projection.SphericalMercator;
  const gcjCrs = L.extend({}, L.CRS.EPSG3857, {
    projection: {
      bounds: merc.bounds,
      project: (ll) => { const g = toGcj(ll.lat, ll.lng); return merc.project(L.latLng(g[0], g[1])); },
      unproject: (p) => { const ll = merc.unproject(p); const w = fromGcj(ll.lat, ll.lng); return L.latLng(w[0], w[1]); },
    },
  });

  const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';
  const kind = (k) => (z, f) => f.props.kind === k;
  function vectorLayer() {
    const P = window.protomapsL;
    const line = (o) => new P.LineSymbolizer(o), fill = (c) => new P.PolygonSymbolizer({ fill: c });
    const road = (z, base) => (z < 12 ? base * 0.5 : z < 14 ? base : base * (1 + (z - 14) * 0.6));
    return P.leafletLayer({
      url: cfg.tiles, maxDataZoom: cfg.maxDataZoom || 16, maxZoom: 20, backgroundColor: "#f4f1ea",
      attribution: cfg.attribution || "CityLoop",
      paintRules: [
        { dataLayer: "builtup", symbolizer: fill("#e2ddd5") },
        { dataLayer: "water", symbolizer: fill("#a9cbec") },
        { dataLayer: "boundary", filter: kind("community"), symbolizer: line({ color: "#b8a6cc", width: 1, dash: [3, 3] }) },
        { dataLayer: "boundary", filter: kind("town"), symbolizer: line({ color: "#9a80b8", width: 1.5, dash: [6, 3] }) },
        { dataLayer: "boundary", filter: kind("district"), symbolizer: line({ color: "#6d4c91", width: 2.5 }) },
        { dataLayer: "roads", filter: kind("street"), symbolizer: line({ color: "#cbc3b5", width: (z) => road(z, 4) + 1.5 }) },
        { dataLayer: "roads", filter: kind("street"), symbolizer: line({ color: "#ffffff", width: (z) => road(z, 4) }) },
        { dataLayer: "roads", filter: (z, f) => f.props.kind !== "street", symbolizer: line({ color: "#c99a4c", width: (z) => road(z, 5) + 1.5 }) },
        { dataLayer: "roads", filter: (z, f) => f.props.kind !== "street", symbolizer: line({ color: "#f6cf7e", width: (z) => road(z, 5) }) },
      ],
      labelRules: [
        { dataLayer: "places", filter: (z, f) => f.props.kind !== "community",
          symbolizer: new P.CenteredTextSymbolizer({ fill: "#3b2f4a", stroke: "#ffffff", width: 3, font: `600 15px ${FONT}` }) },
        { dataLayer: "places", filter: kind("community"),
          symbolizer: new P.CenteredTextSymbolizer({ fill: "#5d5666", stroke: "#ffffff", width: 2, font: `12px ${FONT}` }) },
        { dataLayer: "roads", symbolizer: new P.LineLabelSymbolizer({ fill: "#4a4033", stroke: "#ffffff", width: 2, font: `12px ${FONT}` }) },
        { dataLayer: "water_names", symbolizer: new P.LineLabelSymbolizer({ fill: "#2b67a0", stroke: "#ffffff", width: 2, font: `italic 12px ${FONT}` }) },
      ],
    });
  }

  function baseLayer() {
    if (cfg.source === "local" && cfg.format === "pbf" && window.protomapsL) return vectorLayer();
    if (cfg.source === "local") return L.tileLayer(cfg.tiles, { maxNativeZoom: cfg.maxDataZoom || 16, maxZoom: 19, attribution: cfg.attribution || "" });
    if (cfg.source === "url") {
      return L.tileLayer(cfg.url, { maxZoom: 19, attribution: cfg.attribution || "",
        subdomains: /t\{s\}\./.test(cfg.url) ? "01234567" : "abc" });
    }
    return null;
  }

  // The district's bounds as Leaflet wants them (south-west, north-east), or null.
  const district = () => (cfg.bounds ? [[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]] : null);

  function cityloopMap(el, options) {
    const opts = Object.assign({ attributionControl: cfg.source !== "none", maxZoom: 19 }, options || {});
    if (cfg.crs === "gcj02") opts.crs = gcjCrs;
    const map = L.map(el, opts);
    const base = baseLayer();
    if (base) { base.addTo(map); map.baseLayer = base; }
    if (opts.center) { /* the page's own view */ }
    else if (opts.zoom != null && cfg.center) map.setView([cfg.center[1], cfg.center[0]], opts.zoom);
    else cityloopMap.fitDistrict(map);
    return map;
  }
  cityloopMap.config = cfg;
  cityloopMap.toGcj = toGcj;
  cityloopMap.fromGcj = fromGcj;
  cityloopMap.district = district;
  // Show the whole district (or, with no regions yet, the country).
  cityloopMap.fitDistrict = (map) => {
    const b = district();
    if (b) map.fitBounds(b, { padding: [10, 10] }); else map.setView([35, 105], 4);
    return map;
  };
  // The one map legend: a box in a map corner titled 图例 / Legend. items are [colour, label, shape] rows: label is a
  // string or a [zh, en] pair (the page's language picks one), shape is "dot" (default), "pin", "line" or "area".
  // Calling it again on the same map replaces the legend; more than four rows on a map under 480 px start folded.
  const en = () => document.body && document.body.dataset.lang === "en";
  cityloopMap.label = (label) => (Array.isArray(label) ? (en() ? label[1] : label[0]) : String(label));
  cityloopMap.legend = (map, items, position) => {
    if (map.legendControl) map.removeControl(map.legendControl);
    const control = L.control({ position: position || "bottomright" });
    control.onAdd = () => {
      const div = L.DomUtil.create("div", "map-legend");
      div.setAttribute("role", "note");
      div.setAttribute("aria-label", en() ? "Legend" : "图例");
      const title = L.DomUtil.create("button", "map-legend-title", div);
      title.type = "button";
      title.textContent = en() ? "Legend" : "图例";
      // A long legend on a phone-sized map starts folded: the title opens and closes it.
      const folded = items.length > 4 && map.getSize().x < 480;
      div.classList.toggle("folded", folded);
      title.setAttribute("aria-expanded", String(!folded));
      title.addEventListener("click", () => {
        div.classList.toggle("folded");
        title.setAttribute("aria-expanded", String(!div.classList.contains("folded")));
      });
      for (const [colour, label, shape] of items) {
        const row = L.DomUtil.create("div", "map-legend-row", div);
        const sym = L.DomUtil.create("span", `map-legend-sym ${shape || "dot"}`, row);
        if (shape === "line") sym.style.borderTopColor = colour;
        else if (shape === "area") { sym.style.borderColor = colour; sym.style.background = colour + "33"; }
        else sym.style.background = colour;
        L.DomUtil.create("span", "map-legend-label", row).textContent = cityloopMap.label(label);
      }
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    map.legendControl = control;
    return control.addTo(map);
  };
  // Metres between two WGS84 points {lat, lon} (haversine), and as a phrase: 距您 350 米 / 1.2 公里.
  cityloopMap.distance = (a, b) => {
    const r = Math.PI / 180, dLat = (b.lat - a.lat) * r, dLon = (b.lon - a.lon) * r;
    const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dLon / 2) ** 2;
    return 12742000 * Math.asin(Math.sqrt(h));
  };
  cityloopMap.distanceText = (m) => {
    if (m < 1000) { const v = Math.max(10, Math.round(m / 10) * 10); return en() ? `${v} m from you` : `距您 ${v} 米`; }
    const km = (m / 1000).toFixed(m < 10000 ? 1 : 0);
    return en() ? `${km} km from you` : `距您 ${km} 公里`;
  };
  // Links that hand a place to the phone's own map app (nothing is loaded from another host by this page):
  // geo: (Android and most map apps) and the 高德 URI (opens the 高德地图 app, or its web page, with WGS84 input).
  cityloopMap.geoUrl = (lat, lon, name) => `geo:${lat},${lon}?q=${lat},${lon}(${encodeURIComponent(name || "")})`;
  cityloopMap.amapUrl = (lat, lon, name) =>
    `https://uri.amap.com/marker?position=${lon},${lat}&coordinate=wgs84&callnative=1&name=${encodeURIComponent(name || "")}`;
  window.cityloopMap = cityloopMap;
})();
