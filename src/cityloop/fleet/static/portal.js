// The company portal: my violations (appeal with text and files), my vehicles, my permits, apply for a permit.
(function () {
  const t = cityloop.t, api = cityloop.api, f = window.fleet;
  let sites = [], route = [], routeLine = null, m = null;

  async function load() {
    const [vehicles, permits, violations] = await Promise.all([
      api("GET", "/api/v1/fleet/vehicles"), api("GET", "/api/v1/fleet/permits"),
      api("GET", "/api/v1/fleet/violations?size=200")]);
    document.querySelector("#vehicles tbody").innerHTML = vehicles.map((v) => `<tr><td>${f.esc(v.plate)}</td>
      <td>${f.esc(v.terminal_phone)}</td><td>${v.sealed ? t("是", "yes") : t("否", "no")}</td>
      <td>${v.last_at ? f.fmt(v.last_at) : "—"}</td></tr>`).join("");
    document.querySelector("#permits tbody").innerHTML = permits.map((p) => `<tr><td>${f.esc(p.number || "—")}</td>
      <td>${f.esc(p.from_site.name)} → ${f.esc(p.to_site.name)}</td><td>${p.valid_from} — ${p.valid_to}</td>
      <td>${f.label(f.STATUS, p.status)}${p.reason ? " · " + f.esc(p.reason) : ""}</td></tr>`).join("");
    document.querySelector("#violations tbody").innerHTML = violations.items.map((v) => `
      <tr class="status-${v.status}" data-id="${v.id}"><td>${f.fmt(v.started_at)}</td><td>${f.esc(v.plate)}</td>
      <td>${f.label(f.KIND, v.kind)}</td><td>${f.describe(v)}</td><td class="status">${f.label(f.STATUS, v.status)}
      ${v.appeal && v.appeal.decision_note ? "<br><span class='note'>" + f.esc(v.appeal.decision_note) + "</span>" : ""}</td>
      <td>${v.status === "open" ? `<button class="secondary appeal-btn" data-id="${v.id}">${t("申诉", "Appeal")}</button>
        <span class="note">${t("截止", "until")} ${f.fmt(v.appeal_due_at)}</span>` : (v.appeal ? f.esc(v.appeal.text) : "")}</td></tr>`).join("")
      || `<tr><td colspan="6" class="note">${t("暂无违规记录", "No violations")}</td></tr>`;
    const box = document.getElementById("apply-vehicles");
    box.innerHTML = vehicles.map((v) => `<label><span><input type="checkbox" name="vehicle" value="${v.id}"> ${f.esc(v.plate)}</span></label>`).join("");
  }

  function appealForm(id) {
    const row = document.querySelector(`tr[data-id="${id}"] td:last-child`);
    row.innerHTML = `<form class="inline-form appeal-form" data-id="${id}">
      <textarea name="text" required maxlength="2000" placeholder="${t("申诉理由", "Reason")}"></textarea>
      <input type="file" name="files" multiple accept="image/jpeg,image/png,image/webp,application/pdf">
      <button class="primary" type="submit">${t("提交申诉", "Submit appeal")}</button><span class="msg"></span></form>`;
  }

  document.addEventListener("click", (e) => {
    if (e.target.classList.contains("appeal-btn")) appealForm(e.target.dataset.id);
  });
  document.addEventListener("submit", async (e) => {
    if (!e.target.classList.contains("appeal-form")) return;
    e.preventDefault();
    const form = e.target, data = new FormData();
    data.append("text", form.text.value);
    for (const file of form.files.files) data.append("files", file);
    try {
      await api("POST", `/api/v1/fleet/violations/${form.dataset.id}/appeal`, data);
      await load();
    } catch (err) { form.querySelector(".msg").textContent = err.message; }
  });

  function drawRoute() {
    if (routeLine) routeLine.remove();
    routeLine = route.length ? L.polyline(route.map(([x, y]) => [y, x]), { color: "#0b5cad" }).addTo(m) : null;
  }
  function centre(site) {
    const ring = site.geometry.type === "Polygon" ? site.geometry.coordinates[0] : site.geometry.coordinates[0][0];
    const n = ring.length - 1;
    return [ring.slice(0, n).reduce((s, p) => s + p[0], 0) / n, ring.slice(0, n).reduce((s, p) => s + p[1], 0) / n];
  }

  async function setupApply() {
    m = f.map("apply-map", [["#0b5cad", ["申请路线", "Requested route"], "line"]]);
    await f.layers(m);
    sites = await api("GET", "/api/v1/fleet/sites");
    const form = document.getElementById("apply");
    const opts = (kinds) => sites.filter((s) => kinds.includes(s.kind)).map((s) => `<option value="${s.id}">${f.esc(s.name)}</option>`).join("");
    form.from_site_id.innerHTML = opts(["construction"]);
    form.to_site_id.innerHTML = opts(["disposal", "depot"]);
    const today = form.dataset.today;  // the server's date
    form.valid_from.value = today;
    form.valid_to.value = new Date(Date.parse(today) + 30 * 86400e3).toISOString().slice(0, 10);
    m.on("click", (e) => { route.push([+e.latlng.lng.toFixed(6), +e.latlng.lat.toFixed(6)]); drawRoute(); });
    document.getElementById("clear-route").onclick = () => { route = []; drawRoute(); };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const byId = (id) => sites.find((s) => s.id === +id);
      const path = route.length >= 2 ? route : [centre(byId(form.from_site_id.value)), centre(byId(form.to_site_id.value))];
      const body = { vehicle_ids: [...form.querySelectorAll("input[name=vehicle]:checked")].map((c) => +c.value),
        from_site_id: +form.from_site_id.value, to_site_id: +form.to_site_id.value, route: path,
        corridor_m: +form.corridor_m.value, valid_from: form.valid_from.value, valid_to: form.valid_to.value,
        hours: form.hours.value.split(/[,，\s]+/).filter(Boolean) };
      const msg = document.getElementById("apply-msg");
      try {
        const p = await api("POST", "/api/v1/fleet/permits", body);
        route = []; drawRoute(); await load();
        msg.textContent = t(`已提交，等待审核（#${p.id}）`, `Submitted, waiting for review (#${p.id})`);
      } catch (err) { msg.textContent = err.message; }
    });
  }

  load();
  setupApply();
})();
