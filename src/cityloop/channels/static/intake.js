// 上报审核: reports waiting for 受理 with their duplicate suggestions (merge in one action) and photo evidence flags.
(function () {
  const t = cityloop.t;
  const body = document.querySelector("#review tbody");
  const msg = document.getElementById("msg");
  const FLAGS = { "far-from-report": t("拍摄地点偏远", "taken far away"), "taken-long-before": t("旧照片", "old photo"),
    "taken-after-upload": t("时间异常", "time wrong"), "reused-photo": t("照片已用于其他案件", "photo reused"),
    "repeats-earlier-photo": t("与先前照片相同", "same as earlier photo"), "no-exif-position": t("无定位", "no GPS"),
    "no-exif-time": t("无拍摄时间", "no time"), "file-unreadable": t("文件不可读", "unreadable") };

  async function act(id, action, extra) {
    try {
      const c = await cityloop.api("POST", `/api/v1/cases/${id}/actions/${action}`, extra || {});
      msg.className = "msg"; msg.textContent = `${c.number}: ${c.stage_name}`;
      load();
    } catch (e) { msg.className = "error"; msg.textContent = e.message; }
  }
  function cell(tr, text) { const td = tr.insertCell(); td.textContent = text || ""; return td; }
  async function load() {
    const items = await cityloop.api("GET", "/api/v1/channels/review");
    body.innerHTML = "";
    if (!items.length) { const tr = body.insertRow(); cell(tr, t("没有待受理的上报", "Nothing waiting")).colSpan = 6; }
    for (const c of items) {
      const tr = body.insertRow();
      tr.dataset.number = c.number;
      cell(tr, c.number);
      cell(tr, c.source + (c.tracking_code ? ` · ${c.tracking_code}` : "") + (c.reporter_phone ? ` · ${c.reporter_phone}` : ""));
      cell(tr, `${c.category_name}：${c.description}`);
      const flags = cell(tr, "");
      flags.className = "flags";
      for (const f of c.flags.filter((x) => !x.startsWith("no-exif"))) {
        const s = document.createElement("span"); s.className = "flag"; s.textContent = FLAGS[f] || f; flags.appendChild(s);
      }
      const dups = cell(tr, "");
      for (const d of c.duplicates) {
        const b = document.createElement("button");
        b.className = "secondary merge";
        b.textContent = t(`合并到 ${d.number}（${Math.round(d.distance_m)} m）`, `Merge into ${d.number} (${Math.round(d.distance_m)} m)`);
        b.onclick = () => act(c.id, "merge", { target_case: d.number });
        dups.appendChild(b);
      }
      const ops = cell(tr, "");
      const ok = document.createElement("button");
      ok.className = "primary"; ok.textContent = t("受理", "Accept");
      ok.onclick = () => act(c.id, "accept");
      ops.appendChild(ok);
    }
  }
  document.getElementById("reload").addEventListener("click", load);
  load();
})();
