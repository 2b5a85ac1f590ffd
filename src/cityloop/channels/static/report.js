// 拍一拍: photo, place (map pin or phone GPS), category or free text, optional phone; answers a tracking code.
(function () {
  const t = cityloop.t;
  const form = document.getElementById("report");
  const msg = document.getElementById("msg");
  const newKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  let key = newKey();
  document.getElementById("follow").addEventListener("click", async (e) => {  // follow an earlier report by its code
    e.preventDefault();
    const code = await cityloop.ask(e.currentTarget.dataset.prompt, { required: true });
    if (code) location.href = "/m/report/status/" + encodeURIComponent(code.trim());
  });
  let marker = null;
  const map = window.cityloopMap("map", { zoom: 14 });  // the deployment's urban centre
  window.cityloopMap.legend(map, [["#2a81cb", ["问题位置（点击地图标注）", "Problem place (tap the map)"], "pin"],
    ["#0b5cad", ["受理范围", "Service area"], "area"]]);

  function place(lat, lon, how) {
    form.lat.value = lat.toFixed(6);
    form.lon.value = lon.toFixed(6);
    if (marker) marker.setLatLng([lat, lon]);
    else marker = L.marker([lat, lon]).addTo(map);
    document.getElementById("where").textContent = `${how} ${lon.toFixed(5)}, ${lat.toFixed(5)}`;
    cityloop.showPlace(document.getElementById("place-label"), lon, lat);
  }
  map.on("click", (e) => place(e.latlng.lat, e.latlng.lng, t("已标注", "Marked")));
  // A scanned QR code (/public/q/…) sends the citizen here with the furniture's place: pin it at once.
  const query = new URLSearchParams(location.search);
  const given = [Number(query.get("lon")), Number(query.get("lat"))];
  const preset = query.has("lon") && query.has("lat") && Math.abs(given[0]) <= 180 && Math.abs(given[1]) <= 90;
  if (preset) { place(given[1], given[0], t("扫码位置", "From the code")); map.setView([given[1], given[0]], 17); }
  fetch("/api/v1/channels/public/area").then((r) => r.json()).then((a) => {
    if (!a.bbox) return;
    const [x0, y0, x1, y1] = a.bbox;
    L.rectangle([[y0, x0], [y1, x1]], { color: "#0b5cad", weight: 1, fillOpacity: 0.05 }).addTo(map);
    if (!preset) map.fitBounds([[y0, x0], [y1, x1]]);
  });
  fetch("/api/v1/channels/public/categories").then((r) => r.json()).then((items) => {
    const groups = {};
    for (const c of items) (groups[c.major_name] = groups[c.major_name] || []).push(c);
    for (const [major, list] of Object.entries(groups)) {
      const g = document.createElement("optgroup");
      g.label = major;
      for (const c of list) g.appendChild(new Option(c.name, c.code));
      form.category_code.appendChild(g);
    }
  });
  cityloop.catPicker(form.category_code, { description: form.description });
  document.getElementById("gps").addEventListener("click", () => {
    if (!navigator.geolocation) { msg.textContent = t("此设备不支持定位", "No location on this device"); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => { place(p.coords.latitude, p.coords.longitude, t("当前位置", "Here")); map.setView([p.coords.latitude, p.coords.longitude], 17); },
      () => { msg.textContent = t("无法获取位置，请在地图上标注", "Location unavailable; tap the map"); },
      { enableHighAccuracy: true, timeout: 10000 });
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.className = "";
    if (!form.lon.value) { msg.textContent = t("请标注问题位置", "Mark the place first"); return; }
    if (!form.photos.files.length) { msg.textContent = t("请至少拍摄一张照片", "Take at least one photo"); return; }
    const body = new FormData(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    msg.textContent = t("正在提交…", "Sending…");
    try {
      const res = await fetch("/api/v1/channels/public/reports", { method: "POST", body, headers: { "Idempotency-Key": key } });
      const data = await res.json();
      if (!res.ok) throw new Error(data.detail || res.statusText);
      document.getElementById("tracking").textContent = data.tracking_code;
      document.getElementById("status-link").href = data.status_url;
      form.hidden = true;
      document.getElementById("done").hidden = false;
      key = newKey();
    } catch (err) {
      msg.className = "error";
      msg.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById("again").addEventListener("click", () => {
    form.reset();
    form.hidden = false;
    document.getElementById("done").hidden = true;
    msg.textContent = "";
  });
})();
