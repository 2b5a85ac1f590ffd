// 12345 工单: the parked queue (fix and accept, or 退单) and the recent work orders.
(function () {
  const t = cityloop.t, esc = cityloop.esc;
  const parked = document.getElementById("parked");
  const recent = document.querySelector("#recent tbody");
  const msg = document.getElementById("msg");
  const canAct = parked.dataset.canAct === "yes";
  const STATUS = { parked: t("待处理", "parked"), case: t("已转案件", "case"), returned: t("已退单", "returned") };
  const when = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : "");

  function card(o) {
    const f = o.fields || {};
    const forms = canAct ? `
      <form class="m-form wo-accept" data-id="${Number(o.id)}">
        <label>${esc(t("事项代码", "Category code"))}<input name="category_code" maxlength="8" placeholder="06010"></label>
        <label>${esc(t("地址", "Address"))}<input name="address" maxlength="256" value="${esc(f.address || "")}"></label>
        <label>${esc(t("经度", "Lon"))}<input name="lon" inputmode="decimal"></label>
        <label>${esc(t("纬度", "Lat"))}<input name="lat" inputmode="decimal"></label>
        <button class="primary">${esc(t("修正并受理", "Fix and accept"))}</button>
      </form>
      <form class="m-form wo-return" data-id="${Number(o.id)}">
        <label>${esc(t("退单原因", "Reason for return"))}<input name="reason" maxlength="500" required></label>
        <button class="danger">${esc(t("退单", "Return"))}</button>
      </form>` : "";
    return `<article class="card wo" data-id="${Number(o.id)}">
      <h3>${esc(o.external_no)} <small class="error">${esc(o.reason_text || o.reason || "")}</small></h3>
      <p>${esc(f.description || "")}</p>
      <p class="note">${esc(t("分类", "Category"))}：${esc(f.category || "—")} · ${esc(t("地址", "Address"))}：${esc(f.address || "—")}
        · ${esc(t("办理时限", "Deadline"))}：${esc(when(o.deadline) || "—")}${f.contact || f.phone ? ` · ${esc(f.contact || "")} ${esc(f.phone || "")}` : ""}</p>
      ${forms}</article>`;
  }

  async function load() {
    try {
      const [waiting, all] = await Promise.all([cityloop.api("GET", "/api/v1/workorders?status=parked"),
        cityloop.api("GET", "/api/v1/workorders?limit=50")]);
      parked.innerHTML = waiting.length ? waiting.map(card).join("") : `<p class="note">${esc(t("没有待处理的工单", "Nothing parked"))}</p>`;
      recent.innerHTML = all.map((o) => `<tr><td>${esc(o.external_no)}</td><td>${esc(STATUS[o.status] || o.status)}</td>
        <td>${o.case_id ? `<a href="/console/cases/${Number(o.case_id)}">${esc(o.case_number || "")}</a>` : ""}</td>
        <td>${esc(when(o.deadline))}</td><td>${esc((o.fields || {}).description || "")}</td></tr>`).join("");
    } catch (e) { msg.className = "error"; msg.textContent = e.message; }
  }

  parked.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target, id = f.dataset.id;
    const body = {};
    let url;
    if (f.classList.contains("wo-accept")) {
      url = `/api/v1/workorders/${id}/accept`;
      for (const k of ["category_code", "address"]) if (f.elements[k].value.trim()) body[k] = f.elements[k].value.trim();
      if (f.elements.lon.value.trim() || f.elements.lat.value.trim()) {
        body.lon = Number(f.elements.lon.value); body.lat = Number(f.elements.lat.value);
      }
    } else {
      url = `/api/v1/workorders/${id}/return`;
      body.reason = f.elements.reason.value.trim();
    }
    try {
      const o = await cityloop.api("POST", url, body);
      msg.className = "msg";
      msg.textContent = `${o.external_no}：${STATUS[o.status] || o.status} ${o.case_number || ""}`;
      load();
    } catch (e) { msg.className = "error"; msg.textContent = e.message; }
  });
  document.getElementById("reload").addEventListener("click", load);
  load();
})();
