// The public flood warnings: each warning's place on a map (popups from the list's text, escaped).
(function () {
  const items = [...document.querySelectorAll(".warnings li")];
  const map = window.cityloopMap("warn-map");
  window.cityloopMap.legend(map, [["#c62828", ["暂停通行", "Road closed"]], ["#f9a825", ["谨慎通行", "Drive with care"]],
    ["#2e7d32", ["已解除", "Lifted"]]]);
  const pts = items.map((li) => [parseFloat(li.dataset.lat), parseFloat(li.dataset.lon)]);
  if (pts.length) map.fitBounds(pts, { maxZoom: 16, padding: [30, 30] });
  items.forEach((li, i) => L.circleMarker(pts[i], { radius: 9, color: li.classList.contains("lifted") ? "#2e7d32" : (li.dataset.kind === "closed" ? "#c62828" : "#f9a825") })
    .addTo(map).bindPopup(cityloop.esc(li.querySelector("b").textContent)));
})();
