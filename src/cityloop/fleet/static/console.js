// Staff console: permits and appeals to decide, vehicles on the map, track playback with violation markers.
(function () {
  const t = cityloop.t, api = cityloop.api, f = window.fleet, box = document.getElementById("fleet-console");
  const reviewer = box.dataset.reviewer === "true";
  const m = f.map("fleet-map", [["#0b5cad", ["在线车辆", "Online truck"]], ["#999999", ["离线车辆", "Offline truck"]],
    ["#0b5cad", ["回放轨迹", "Replayed track"], "line"], ["#2a81cb", ["违规地点", "Violation"], "pin"]]);
  const vehiclesLayer = L.layerGroup().addTo(m), trackLayer = L.layerGroup().addTo(m);
  let track = null, cursor = null, timer = null;
  // The server's clock (the demo and the tests may run on another time than the browser's).
  const offset = (Number(box.dataset.now) || Date.now() / 1000) - Date.now() / 1000;
  const serverNow = () => Date.now() / 1000 + offset;
  const button = (cls, id, zh, en) => (reviewer ? `<button class="secondary ${cls}" data-id="${id}">${t(zh, en)}</button>` : "");

  async function permits() {
    const items = await api("GET", "/api/v1/fleet/permits?status=pending");
    document.querySelector("#pending-permits tbody").innerHTML = items.map((p) => `<tr data-id="${p.id}">
      <td>${p.id}</td><td>${f.esc(p.company_name)}</td><td>${p.plates.map(f.esc).join(", ")}</td>
      <td>${f.esc(p.from_site.name)} → ${f.esc(p.to_site.name)} · ${p.corridor_m} m</td>
      <td>${p.valid_from} — ${p.valid_to}<br>${f.esc(p.hours.join(", ") || t("全天", "all day"))}</td>
      <td>${button("approve", p.id, "批准", "Approve")} ${button("reject", p.id, "驳回", "Reject")}</td></tr>`).join("")
      || `<tr><td colspan="6" class="note">${t("没有待审核的核准", "Nothing to review")}</td></tr>`;
  }

  async function appeals() {
    const page = await api("GET", "/api/v1/fleet/violations?appeal=pending&size=100");
    document.querySelector("#pending-appeals tbody").innerHTML = page.items.map((v) => `<tr data-id="${v.id}">
      <td>${f.label(f.KIND, v.kind)}<br>${f.fmt(v.started_at)}<br>${f.describe(v)}</td>
      <td>${f.esc(v.company_name)}<br>${f.esc(v.plate)}</td>
      <td>${f.esc(v.appeal.text)}<br>${v.appeal.files.map((x) => `<a href="${f.esc(x.url)}" target="_blank">${f.esc(x.name)}</a>`).join(" ")}</td>
      <td>${button("uphold", v.id, "维持", "Uphold")} ${button("cancel", v.id, "撤销", "Cancel")}</td></tr>`).join("")
      || `<tr><td colspan="4" class="note">${t("没有待复核的申诉", "No appeals waiting")}</td></tr>`;
  }

  async function latest() {
    const page = await api("GET", "/api/v1/fleet/violations?size=20");
    document.querySelector("#latest tbody").innerHTML = page.items.map((v) => `<tr><td>${f.fmt(v.started_at)}</td>
      <td>${f.esc(v.plate)}</td><td>${f.esc(v.company_name)}</td><td>${f.label(f.KIND, v.kind)}</td><td>${f.describe(v)}</td>
      <td>${v.case_number ? f.esc(v.case_number) : f.esc(v.case_error || "")}</td><td>${f.label(f.STATUS, v.status)}</td></tr>`).join("");
  }

  async function vehicles() {
    const items = await api("GET", "/api/v1/fleet/vehicles");
    vehiclesLayer.clearLayers();
    const select = document.getElementById("track-vehicle");
    if (!select.options.length) select.innerHTML = items.map((v) => `<option value="${v.id}">${f.esc(v.plate)}</option>`).join("");
    const fresh = serverNow() - 600;
    for (const v of items) {
      if (v.last_lat === null) continue;
      const live = new Date(v.last_at).getTime() / 1000 > fresh;
      L.circleMarker([v.last_lat, v.last_lon], { radius: 5, color: live ? "#0b5cad" : "#999", fillOpacity: 0.8 })
        .bindTooltip(`${f.esc(v.plate)} · ${v.last_speed ?? 0} km/h · ${f.fmt(v.last_at)}`).addTo(vehiclesLayer);
    }
  }

  const local = (d) => new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 16);
  async function loadTrack() {
    const id = document.getElementById("track-vehicle").value;
    const from = document.getElementById("track-from").value, to = document.getElementById("track-to").value;
    track = await api("GET", `/api/v1/fleet/vehicles/${id}/track?from=${from}:00%2B08:00&to=${to}:00%2B08:00`);
    trackLayer.clearLayers();
    const pts = track.points.map((p) => [p[2], p[1]]);
    document.getElementById("track-info").textContent =
      t(`${track.raw_points} 个定位点，显示 ${pts.length} 个`, `${track.raw_points} positions, ${pts.length} shown`);
    if (!pts.length) return;
    const line = L.polyline(pts, { color: "#0b5cad", weight: 3 }).addTo(trackLayer);
    for (const v of track.violations) {
      L.marker([v.lat, v.lon]).bindTooltip(f.esc(`${f.label(f.KIND, v.kind)} · ${f.fmt(v.started_at)}`)).addTo(trackLayer);
    }
    cursor = L.circleMarker(pts[0], { radius: 7, color: "#d93025", fillOpacity: 1 }).addTo(trackLayer);
    const slider = document.getElementById("track-slider");
    slider.max = pts.length - 1; slider.value = 0;
    m.fitBounds(line.getBounds());
  }
  function moveTo(i) {
    if (!track || !track.points[i]) return;
    const p = track.points[i];
    cursor.setLatLng([p[2], p[1]]);
    document.getElementById("track-info").textContent = `${f.fmt(p[0])} · ${p[3]} km/h`;
  }

  document.getElementById("track-slider").addEventListener("input", (e) => moveTo(+e.target.value));
  document.getElementById("track-load").onclick = () => loadTrack().catch((err) => alert(err.message));
  document.getElementById("track-play").onclick = () => {
    clearInterval(timer);
    const slider = document.getElementById("track-slider");
    timer = setInterval(() => {
      if (+slider.value >= +slider.max) return clearInterval(timer);
      slider.value = +slider.value + 1; moveTo(+slider.value);
    }, 200);
  };
  document.addEventListener("click", async (e) => {
    const id = e.target.dataset.id, cls = e.target.classList;
    try {
      if (cls.contains("approve")) await api("POST", `/api/v1/fleet/permits/${id}/approve`, {});
      else if (cls.contains("reject")) {
        const reason = await cityloop.ask(t("驳回理由", "Reason for rejecting"), { required: true });
        if (reason === null) return;
        await api("POST", `/api/v1/fleet/permits/${id}/reject`, { reason });
      } else if (cls.contains("uphold")) {
        const note = await cityloop.ask(t("复核意见（可不填）", "Review note (optional)"));
        if (note === null) return;
        await api("POST", `/api/v1/fleet/violations/${id}/decision`, { decision: "upheld", note: note || null });
      } else if (cls.contains("cancel")) {
        const note = await cityloop.ask(t("撤销理由", "Reason for cancelling"), { required: true });
        if (note === null) return;
        await api("POST", `/api/v1/fleet/violations/${id}/decision`, { decision: "cancelled", note });
      } else return;
      await Promise.all([permits(), appeals(), latest()]);
    } catch (err) { alert(err.message); }
  });

  const now = new Date(serverNow() * 1000);
  document.getElementById("track-from").value = local(new Date(now - 2 * 3600e3));
  document.getElementById("track-to").value = local(now);
  f.layers(m).catch(() => {});
  Promise.all([permits(), appeals(), latest(), vehicles()]).catch((err) => console.error(err));
  setInterval(() => vehicles().catch(() => {}), 10000);
})();
