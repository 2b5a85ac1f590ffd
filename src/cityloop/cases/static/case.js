// The case page: a map of the case and its unit grid, and action forms that post to the JSON API and then
// refresh the panel in place.
(function () {
  const t = window.cityloop.t, esc = window.cityloop.esc;
  let map = null;

  async function drawMap() {
    const el = document.getElementById("case-map");
    if (!el || !window.L) return;
    if (map) { map.remove(); map = null; }
    const lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
    map = window.cityloopMap(el, { center: [lat, lon], zoom: 17 });
    window.cityloopMap.legend(map, [["#d93025", ["案件位置", "Case place"]], ["#0b5cad", ["单元网格", "Unit grid"], "area"]]);
    try {
      const grids = await window.cityloop.api("GET", "/api/v1/geo/grids?bbox=" + [lon, lat, lon, lat].join(","));
      const layer = L.geoJSON(grids, { style: { color: "#0b5cad", weight: 1, fillOpacity: 0.08 } }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds().pad(0.6));
    } catch (e) { /* the map still shows the point */ }
    L.circleMarker([lat, lon], { radius: 8, color: "#d93025", fillOpacity: 0.8 }).addTo(map);
  }

  async function refresh(caseId, message) {
    const res = await fetch(`/console/cases/${caseId}/panel`, { credentials: "same-origin" });
    document.getElementById("case-panel").innerHTML = await res.text();
    const box = document.getElementById("action-message");
    if (box && message) { box.textContent = message; box.className = "message ok"; }
    bind();
  }

  function bodyOf(form) {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "file" || el.type === "submit") continue;
      if (el.type === "checkbox") { if (el.checked) data[el.name] = true; continue; }
      if (el.value !== "") data[el.name] = el.value;
    }
    const files = form.querySelector("input[type=file]");
    if (files && files.files.length) {
      const fd = new FormData();
      fd.append("data", JSON.stringify(data));
      for (const f of files.files) fd.append("photos", f);
      return fd;
    }
    return Object.keys(data).length ? data : undefined;
  }

  async function previewDeadline(form) {
    // 立案: show when handling would be due under the chosen condition (working time unless 紧急).
    const select = form.querySelector("select.condition"), out = form.querySelector(".deadline-preview");
    if (!select || !out) return;
    const option = select.selectedOptions[0];
    if (!option) return;
    const urgent = form.querySelector("input[name=urgent]");
    const params = new URLSearchParams({ start: out.dataset.start, limit: option.dataset.limit,
      urgent: option.dataset.urgent === "true" || (urgent && urgent.checked) });
    try {
      const r = await window.cityloop.api("GET", "/api/v1/sla/preview?" + params);
      out.querySelector("b").textContent = window.cityloop.when(r.due_at);
    } catch (e) { out.querySelector("b").textContent = "—"; }
  }

  async function extras() {
    // Duplicate suggestions and photo evidence come from the channels area when it is installed.
    const box = document.getElementById("duplicates");
    if (!box) return;
    const id = box.dataset.case;
    try {
      const evidence = await window.cityloop.api("GET", `/api/v1/channels/cases/${id}/evidence`);
      for (const e of evidence) {
        const a = document.querySelector(`.photos a[data-photo="${e.photo_id}"]`);
        if (a && e.flag_names.length) {
          a.classList.add("flagged");
          a.title = e.flag_names.join("；");
          const flag = document.createElement("em");
          flag.className = "flag";
          flag.textContent = e.flag_names.join(" · ");
          a.append(flag);
        }
      }
    } catch (e) { /* no evidence service */ }
    if (box.dataset.open !== "1") return;
    let rows = [];
    try { rows = await window.cityloop.api("GET", `/api/v1/channels/cases/${id}/duplicates`); } catch (e) { return; }
    if (!rows.length) return;
    box.classList.remove("hidden");
    box.innerHTML = `<b>${t("可能重复的在办案件", "Possible duplicates (open cases nearby)")}</b><ul>` + rows.map((r) =>
      `<li><a href="/console/cases/${esc(r.id)}" target="_blank">${esc(r.number)}</a> ${esc(r.category_name)} · ${Math.round(r.distance_m)} m · ${esc(r.stage_name)}
       <button class="secondary small use-parent" data-number="${esc(r.number)}">${t("合并到此案件", "Merge into this")}</button></li>`).join("") + "</ul>";
    box.querySelectorAll(".use-parent").forEach((b) => b.addEventListener("click", () => {
      const form = document.querySelector("form[data-action=merge]");
      form.closest("details").open = true;
      form.querySelector("[name=target_case]").value = b.dataset.number;
      form.querySelector("[name=target_case]").focus();
    }));
  }

  function bind() {
    drawMap();
    extras();
    document.querySelectorAll("form[data-action=file]").forEach((form) => {
      form.addEventListener("change", () => previewDeadline(form));
      previewDeadline(form);
    });
    document.querySelectorAll("form.publish-photos").forEach((form) => {
      // Which photos the public Open311 feed may show: the full list, after staff have looked at them.
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const ids = [...form.querySelectorAll("input[name=photo]:checked")].map((el) => parseInt(el.value, 10));
        try {
          await window.cityloop.api("PUT", `/api/v1/cases/${form.dataset.case}/publication`, { photo_ids: ids });
          await refresh(form.dataset.case, t("照片公开设置已保存", "Photo publication saved"));
        } catch (err) {
          const box = document.getElementById("action-message");
          box.textContent = err.message; box.className = "message error";
        }
      });
    });
    document.querySelectorAll("form.action-form").forEach((form) => {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          await window.cityloop.api("POST", `/api/v1/cases/${form.dataset.case}/actions/${form.dataset.action}`, bodyOf(form));
          await refresh(form.dataset.case, t("已办理：", "Done: ") + button.textContent);
        } catch (err) {
          const box = document.getElementById("action-message");
          box.textContent = err.message; box.className = "message error";
          button.disabled = false;
        }
      });
    });
  }

  bind();
})();
