// The monitoring console: devices on a map (popups from the table's text, escaped) and acknowledging alarms.
(function () {
  const colors = { alarm: "#c62828", offline: "#777", silent: "#999", off: "#bbb", normal: "#2e7d32" };
  const rows = [...document.querySelectorAll("#device-table tbody tr")];
  const map = window.cityloopMap("sensor-map");
  window.cityloopMap.legend(map, [[colors.normal, ["正常", "Normal"]], [colors.alarm, ["告警", "Alarm"]],
    [colors.offline, ["离线", "Offline"]], [colors.silent, ["未上报", "Silent"]], [colors.off, ["停用", "Off"]]]);
  const pts = rows.map((r) => [parseFloat(r.dataset.lat), parseFloat(r.dataset.lon)]);
  if (pts.length) map.fitBounds(pts, { padding: [20, 20] });
  rows.forEach((r, i) => L.circleMarker(pts[i], { radius: 5, color: colors[r.dataset.status] || "#2e7d32" })
    .addTo(map).bindPopup(cityloop.esc(r.cells[1].textContent + " · " + r.cells[3].textContent)));
  document.querySelectorAll("button.ack").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    try { await cityloop.api("POST", "/api/v1/sensors/alarms/" + b.dataset.id + "/acknowledge", {});
      b.replaceWith(document.createTextNode(cityloop.t("已确认", "acknowledged")));
    } catch (e) { b.disabled = false; alert(e.message); }
  }));
})();
