// 上报审核: one card per report waiting for 受理 — its photos (click to enlarge), the pin on a map, the duplicate
// candidates side by side, and 受理 / 不予受理 (with a reason) / 合并 in place, confirmed through dialogs.
(function () {
  const t = cityloop.t, esc = cityloop.esc;
  const list = document.getElementById("review");
  const msg = document.getElementById("msg");
  const FLAGS = { "far-from-report": t("拍摄地点偏远", "taken far away"), "taken-long-before": t("旧照片", "old photo"),
    "taken-after-upload": t("时间异常", "time wrong"), "reused-photo": t("照片已用于其他案件", "photo reused"),
    "repeats-earlier-photo": t("与先前照片相同", "same as earlier photo"), "no-exif-position": t("无定位", "no GPS"),
    "no-exif-time": t("无拍摄时间", "no time"), "file-unreadable": t("文件不可读", "unreadable") };
  let maps = [];

  // The API sends the city's local time with its offset: 2026-12-03T13:25:00+08:00 → 2026-12-03 13:25.
  const when = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : "");
  const thumbs = (ids) => ids.map((id) =>
    `<img src="/api/v1/photos/${Number(id)}/thumb" data-full="/api/v1/photos/${Number(id)}" alt="${esc(t("照片", "Photo"))} ${Number(id)}" loading="lazy">`).join("");

  async function act(id, action, extra) {
    try {
      const c = await cityloop.api("POST", `/api/v1/cases/${id}/actions/${action}`, extra || {});
      msg.className = "msg"; msg.textContent = `${c.number}：${c.stage_name}`;
      load();
    } catch (e) { msg.className = "error"; msg.textContent = e.message; }
  }

  // Opens a <dialog>, resolves with its form's note when confirmed (null when cancelled).
  function ask(dialog, setup) {
    const form = dialog.querySelector("form");
    form.reset();
    setup(dialog);
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "ok" ? form.elements.note.value.trim() : null);
      }, { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }
  async function reject(c) {
    const note = await ask(document.getElementById("reject-dialog"), (d) => { d.querySelector(".case-number").textContent = c.number; });
    if (note) act(c.id, "reject", { note });
  }
  async function merge(c, d) {
    const note = await ask(document.getElementById("merge-dialog"), (dlg) => {
      dlg.querySelector(".merge-text").textContent = t(`将 ${c.number} 合并到 ${d.number}（相距 ${Math.round(d.distance_m)} 米）？`,
        `Merge ${c.number} into ${d.number} (${Math.round(d.distance_m)} m apart)?`);
    });
    if (note !== null) act(c.id, "merge", note ? { target_case: d.number, note } : { target_case: d.number });
  }

  function card(c) {
    const el = document.createElement("article");
    el.className = "review-card";
    el.dataset.number = c.number;
    const flags = c.flags.filter((x) => !x.startsWith("no-exif")).map((f) => `<span class="flag">${esc(FLAGS[f] || f)}</span>`).join("");
    const who = [c.reporter_name, c.reporter_phone, c.tracking_code].filter(Boolean).map(esc).join(" · ");
    const dups = c.duplicates.map((d, i) => `<div class="dup" data-i="${i}"><strong>${esc(d.number)}</strong> · ${esc(d.stage_name)}<br>
        <span class="muted small">${esc(t("相距", "distance"))} ${Math.round(d.distance_m)} m · ${esc(when(d.created_at))}</span>
        <p>${esc(d.description)}</p><div class="muted small">${esc(d.address || "")}</div><div class="thumbs">${thumbs(d.photos || [])}</div>
        <button type="button" class="secondary merge">${esc(t("合并到此案", "Merge into this"))}</button></div>`).join("");
    el.innerHTML = `<header><strong class="case-number">${esc(c.number)}</strong><span class="tag">${esc(c.source_name)}</span>
        <span>${esc(c.category_name)}</span><span class="muted small">${esc(t("上报", "reported"))} ${esc(when(c.created_at))}</span>
        <span class="muted small">${who}</span></header>
      <div class="review-body">
        <div><p class="description">${esc(c.description)}</p><div class="muted">${esc(c.address || "")}</div>
          <div class="thumbs">${c.photos.length ? thumbs(c.photos) : `<span class="muted small">${esc(t("无照片", "No photo"))}</span>`}</div>
          <div class="flags">${flags}</div></div>
        <div class="review-map" aria-label="${esc(t("上报位置", "Reported place"))}"></div>
        <div><h3 class="small">${esc(t("疑似重复", "Possible duplicates"))}（${c.duplicates.length}）</h3>
          <div class="dup-list">${dups || `<span class="muted small">${esc(t("未发现", "None found"))}</span>`}</div></div>
      </div>
      <div class="review-actions"><button type="button" class="primary accept">${esc(t("受理", "Accept"))}</button>
        <button type="button" class="danger reject">${esc(t("不予受理", "Reject"))}</button></div>`;
    el.querySelector(".accept").addEventListener("click", () => act(c.id, "accept"));
    el.querySelector(".reject").addEventListener("click", () => reject(c));
    el.querySelectorAll(".dup .merge").forEach((b) => b.addEventListener("click", () => merge(c, c.duplicates[Number(b.closest(".dup").dataset.i)])));
    return el;
  }

  function drawMap(el, c) {
    if (!window.L) return;
    const map = window.cityloopMap(el, { center: [c.lat, c.lon], zoom: 17, zoomControl: false });
    map.setView([c.lat, c.lon], 17);
    window.cityloopMap.legend(map, [["#d93025", ["本次上报", "This report"]], ["#8a6d00", ["疑似重复案件", "Possible duplicate"]]]);
    for (const d of c.duplicates) {
      if (d.lat != null) L.circleMarker([d.lat, d.lon], { radius: 6, color: "#8a6d00" }).addTo(map);
    }
    L.circleMarker([c.lat, c.lon], { radius: 9, color: "#d93025", fillOpacity: 0.8 }).bindTooltip(esc(c.number)).addTo(map);
    maps.push(map);
  }

  async function load() {
    const items = await cityloop.api("GET", "/api/v1/channels/review");
    maps.forEach((m) => m.remove());
    maps = [];
    list.innerHTML = "";
    if (!items.length) { list.innerHTML = `<p class="muted">${esc(t("没有待受理的上报", "Nothing waiting"))}</p>`; return; }
    for (const c of items) {
      const el = card(c);
      list.appendChild(el);
      drawMap(el.querySelector(".review-map"), c);
    }
  }

  list.addEventListener("click", (e) => {  // any thumbnail opens the photo full size
    const img = e.target.closest(".thumbs img");
    if (!img) return;
    const dlg = document.getElementById("photo-dialog");
    dlg.querySelector("img").src = img.dataset.full;
    dlg.showModal();
  });
  document.getElementById("reload").addEventListener("click", load);
  load();
})();
