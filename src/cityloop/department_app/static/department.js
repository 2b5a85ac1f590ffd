// 部门处置通: department and town (属地) staff see their cases by deadline, open one (photos, map, distance,
// timeline) and handle it or ask for 延期/回退/挂账. Writes go through the shared offline outbox (outbox.js) with an
// Idempotency-Key each: offline they wait on the phone, shown as pending, and are sent once when back online.
(function () {
  const t = cityloop.t, esc = cityloop.esc;
  const $ = (id) => document.getElementById(id);
  const lang = cityloop.lang === "en" ? "en" : "zh";
  const ACTION_LABELS = { handle: t("处置反馈", "Handle"), request_extension: t("申请延期", "Extension request"),
                          request_return: t("申请回退", "Return request"), request_suspension: t("申请挂账", "Suspension request") };
  const REQUEST_LABELS = { extension: t("申请延期", "Request an extension"), return: t("申请回退", "Request a return"),
                           suspension: t("申请挂账", "Request suspension") };
  const PENDING_NAMES = { extension: t("延期待审批", "extension pending"), return: t("回退待审批", "return pending"),
                          suspension: t("挂账待审批", "suspension pending") };
  let cases = [], current = null, queued = [], here = null, caseMap = null, pin = null, hereDot = null;

  function flash(text, error) {
    const el = $("flash");
    el.hidden = false;
    el.className = error ? "msg err" : "msg";
    el.textContent = text;
  }

  // --- outbox -------------------------------------------------------------------------------------------------------
  const box = cityloop.outbox("cityloop-department", {
    onSent: (item, data) => { flash(t(`已发送：${item.label}`, `Sent: ${item.label}`)); loadCases(); if (current && data.id === current.id) openCase(current.id); },
    onFailed: (item, message) => flash(`${item.label}：${message}`, true),
    onAuth: () => flash(t("登录已失效，请重新登录后自动发送", "Log in again to send the outbox"), true),
    onChange: () => renderOutbox(),
  });

  async function enqueue(item) {
    const sent = await box.enqueue(item);
    if (!sent) flash(t("已保存在手机上，联网后自动发送", "Saved on the phone; it will be sent when online"));
  }

  async function renderOutbox() {
    queued = await box.all();
    $("queued").textContent = queued.length;
    const list = $("outbox");
    list.innerHTML = "";
    if (!queued.length) list.innerHTML = `<li class="note">${t("没有待发送的内容", "Nothing waiting")}</li>`;
    for (const item of queued) {
      const li = document.createElement("li");
      li.dataset.key = item.key;
      li.dataset.case = item.caseNumber;
      const when = new Date(item.created).toLocaleString(lang === "en" ? "en-GB" : "zh-CN", { hour12: false });
      li.textContent = `${item.label} · ${when} · ${item.files.length} ${t("张照片", "photos")} · `;
      const state = document.createElement("span");
      state.className = item.failed ? "error" : "pending";
      state.textContent = item.failed ? item.error : t("待发送", "waiting");
      li.appendChild(state);
      if (item.failed) {
        const drop = document.createElement("button");
        drop.className = "link";
        drop.type = "button";
        drop.textContent = t(" 删除", " delete");
        drop.addEventListener("click", () => box.drop(item.id));
        li.appendChild(drop);
      }
      list.appendChild(li);
    }
    renderCases();
    if (current) showPending();
  }
  const waitingFor = (caseId) => queued.filter((i) => i.caseId === caseId && !i.failed);

  // --- network state, tabs ------------------------------------------------------------------------------------------
  function showNet() {
    const on = navigator.onLine;
    $("net").textContent = on ? t("在线", "Online") : t("离线", "Offline");
    $("net").className = on ? "net" : "net off";
  }
  window.addEventListener("online", () => { showNet(); loadCases(); });  // the outbox resends by itself
  window.addEventListener("offline", showNet);

  function show(tab) {
    for (const x of document.querySelectorAll("#tabs button")) x.classList.toggle("on", x.dataset.go === tab || (tab === "case" && x.dataset.go === "cases"));
    for (const s of document.querySelectorAll("section[data-tab]")) s.hidden = s.dataset.tab !== tab;
    if (tab === "case" && caseMap) setTimeout(() => caseMap.invalidateSize(), 50);
  }
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => {
      current = null;
      show(b.dataset.go);
      if (b.dataset.go === "requests") loadRequests();
      if (b.dataset.go === "cases") loadCases();
    });
  }
  $("back").addEventListener("click", () => { current = null; show("cases"); loadCases(); });

  // --- the list -----------------------------------------------------------------------------------------------------
  function badges(c) {
    const out = [];
    if (c.rework_count) out.push(`<span class="flag rework">${t("返工", "Rework")}${c.rework_count > 1 ? " ×" + c.rework_count : ""}</span>`);
    if (c.supervise_count) out.push(`<span class="flag supervise">${t("督办", "Supervised")}${c.supervise_count > 1 ? " ×" + c.supervise_count : ""}</span>`);
    if (c.urgent) out.push(`<span class="flag">${t("紧急", "Urgent")}</span>`);
    if (c.pending_request) out.push(`<span class="flag">${esc(PENDING_NAMES[c.pending_request] || c.pending_request)}</span>`);
    return out.join("");
  }

  async function loadCases() {
    try {
      cases = await cityloop.api("GET", `/api/v1/department/cases?lang=${lang}`);
      $("updated").textContent = t(`更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`,
                                   `Updated ${new Date().toLocaleTimeString("en-GB")}`);
    } catch (e) {
      $("updated").textContent = e.status ? e.message : t("离线，无法刷新列表", "Offline: the list cannot be refreshed");
    }
    renderCases();
  }

  function renderCases() {
    const list = $("cases");
    $("case-count").textContent = cases.length;
    list.innerHTML = "";
    if (!cases.length) list.innerHTML = `<li class="note">${t("暂无待办案件", "No open cases")}</li>`;
    for (const c of cases) {
      const li = document.createElement("li");
      li.dataset.case = c.number;
      li.className = `dept-case ${c.light || "paused"}`;
      const waiting = waitingFor(c.id);
      li.innerHTML = `<div><span class="light ${esc(c.light || "")}"></span> <strong>${esc(c.number)}</strong>
          <span class="tag">${esc(c.category_name)}</span> ${badges(c)}</div>
        <div class="due ${c.overdue ? "late" : ""}">${esc(c.time_text || c.stage_name)}</div>
        <div class="meta">${esc(c.address || "")} ${esc(c.description.slice(0, 40))}</div>
        ${waiting.length ? `<div class="pending">${t("待发送", "Waiting to send")}：${esc(waiting.map((i) => i.label).join("、"))}</div>` : ""}`;
      li.addEventListener("click", () => openCase(c.id));
      list.appendChild(li);
    }
  }
  $("refresh").addEventListener("click", loadCases);
  // Pull to refresh: a drag down from the top of the list reloads it.
  let pullStart = null;
  document.addEventListener("touchstart", (e) => { pullStart = window.scrollY === 0 ? e.touches[0].clientY : null; }, { passive: true });
  document.addEventListener("touchend", (e) => {
    if (pullStart !== null && e.changedTouches[0].clientY - pullStart > 80 && !$("cases").closest("section").hidden) loadCases();
    pullStart = null;
  }, { passive: true });

  // --- one case -----------------------------------------------------------------------------------------------------
  const M = window.cityloopMap;
  function showDistance() {  // hidden until the phone knows where it is
    $("c-distance").hidden = !current || !here;
    if (current && here) $("c-distance").textContent = M.distanceText(M.distance(here, current));
    if (here && hereDot) hereDot.setLatLng([here.lat, here.lon]);
    else if (here && caseMap) hereDot = L.circleMarker([here.lat, here.lon], { radius: 6, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1, interactive: false }).addTo(caseMap);
  }
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition((p) => { here = { lat: p.coords.latitude, lon: p.coords.longitude }; showDistance(); },
                                        () => {}, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function showPending() {
    const waiting = waitingFor(current.id);
    $("c-pending").hidden = !waiting.length;
    $("c-pending").textContent = `${t("待发送", "Waiting to send")}：${waiting.map((i) => i.label).join("、")}`;
    for (const b of document.querySelectorAll("#c-actions button")) {
      const action = b.dataset.open === "handle" ? "handle" : `request_${b.dataset.kind}`;
      b.disabled = waiting.length > 0 || !current.actions.includes(action);
    }
  }

  async function openCase(id) {
    let c, photos = [], events = [], reqs = [];
    try {
      [c, photos, events, reqs] = await Promise.all([
        cityloop.api("GET", `/api/v1/cases/${id}`), cityloop.api("GET", `/api/v1/cases/${id}/photos`),
        cityloop.api("GET", `/api/v1/cases/${id}/events`), cityloop.api("GET", `/api/v1/department/requests?case_id=${id}&lang=${lang}`)]);
    } catch (e) {
      return flash(e.status ? e.message : t("离线，且此案件未曾打开过", "Offline, and this case was never opened here"), true);
    }
    const listed = cases.find((x) => x.id === id) || {};
    current = { ...c, listed };
    show("case");
    $("c-light").className = `light ${c.light || ""}`;
    $("c-number").textContent = c.number;
    $("c-category").textContent = c.category_name;
    $("c-stage").textContent = listed.stage_name || c.stage_name;
    $("c-time").textContent = listed.time_text || "";
    $("c-badges").innerHTML = badges(c);
    $("c-description").textContent = c.description;
    $("c-address").textContent = c.address || "";
    $("c-photos").innerHTML = "";
    for (const p of photos.filter((x) => x.event_seq === 1)) {  // the reporter's photos (the report event)
      const img = document.createElement("img");
      img.src = p.thumb_url;
      img.alt = t("上报照片", "Reported photo");
      img.addEventListener("click", () => { $("photo-dialog").querySelector("img").src = p.url; $("photo-dialog").showModal(); });
      $("c-photos").appendChild(img);
    }
    $("c-nav").href = M.amapUrl(c.lat, c.lon, `${c.number} ${c.category_name}`);
    $("c-geo").href = M.geoUrl(c.lat, c.lon, `${c.number} ${c.category_name}`);
    if (!caseMap) {
      caseMap = M("case-map", { center: [c.lat, c.lon], zoom: 17 });
      M.legend(caseMap, [["#c0392b", ["案件位置", "Case place"]], ["#1a73e8", ["我的位置", "Me"]]]);
    }
    showDistance();
    caseMap.setView([c.lat, c.lon], 17);
    if (pin) pin.setLatLng([c.lat, c.lon]); else pin = L.circleMarker([c.lat, c.lon], { radius: 9, color: "#c0392b", weight: 3 }).addTo(caseMap);
    setTimeout(() => caseMap.invalidateSize(), 50);
    renderRequests($("c-requests"), reqs, false);
    const steps = $("c-timeline");
    steps.innerHTML = "";
    for (const e of events) {
      const li = document.createElement("li");
      const note = e.payload.result || e.payload.note || "";
      li.innerHTML = `<time>${esc(e.at.slice(5, 16).replace("T", " "))}</time><strong>${esc(e.action_name)}</strong>
        <span class="meta">${esc(e.actor)}</span> ${note ? `<div class="meta">${esc(note)}</div>` : ""}`;
      steps.appendChild(li);
    }
    showPending();
  }

  // --- requests -----------------------------------------------------------------------------------------------------
  function renderRequests(list, reqs, withCase) {
    list.innerHTML = "";
    if (!reqs.length) list.innerHTML = `<li class="note">${t("暂无申请", "No requests")}</li>`;
    for (const r of reqs) {
      const li = document.createElement("li");
      li.dataset.status = r.status;
      li.dataset.kind = r.kind;
      const extra = r.extension_minutes ? t(`（${Math.round(r.extension_minutes / 60 * 10) / 10} 小时）`, ` (${Math.round(r.extension_minutes / 60 * 10) / 10} h)`) : "";
      li.innerHTML = `<div>${withCase ? `<strong>${esc(r.case_number)}</strong> ` : ""}${esc(r.kind_name)}${esc(extra)}
          <span class="req-status ${esc(r.status)}">${esc(r.status_name)}</span></div>
        <div class="meta">${esc(r.reason)}${r.decision_note ? " · " + t("批复：", "Decision: ") + esc(r.decision_note) : ""}</div>`;
      if (withCase) li.addEventListener("click", () => openCase(r.case_id));
      list.appendChild(li);
    }
  }
  async function loadRequests() {
    try { renderRequests($("requests"), await cityloop.api("GET", `/api/v1/department/requests?lang=${lang}`), true); }
    catch (e) { flash(e.status ? e.message : t("离线", "Offline"), true); }
  }
  $("reload-requests").addEventListener("click", loadRequests);

  // --- dialogs: handle and requests ---------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("dialog [data-close]")) b.addEventListener("click", () => b.closest("dialog").close());
  const hform = $("handle-form"), rform = $("request-form");
  for (const b of document.querySelectorAll("#c-actions button")) {
    b.addEventListener("click", () => {
      if (b.dataset.open === "handle") {
        hform.reset();
        $("h-error").hidden = true;
        $("h-number").textContent = current.number;
        $("handle-dialog").showModal();
      } else {
        rform.reset();
        rform.dataset.kind = b.dataset.kind;
        $("r-error").hidden = true;
        $("r-title").textContent = `${REQUEST_LABELS[b.dataset.kind]} ${current.number}`;
        $("r-extension").hidden = b.dataset.kind !== "extension";
        $("request-dialog").showModal();
      }
    });
  }
  function fail(id, text) { $(id).hidden = false; $(id).textContent = text; }

  hform.addEventListener("submit", async (e) => {
    e.preventDefault();
    const result = hform.result.value.trim();
    const before = Array.from(hform.before.files), after = Array.from(hform.after.files);
    if (!result) return fail("h-error", t("请填写处置结果", "Describe what was done"));
    if (!after.length) return fail("h-error", t("请拍处置后照片", "Take an after photo"));
    if (before.length + after.length > 6) return fail("h-error", t("照片最多 6 张", "At most 6 photos"));
    $("handle-dialog").close();
    const files = [...before.map((f) => ({ name: f.name, blob: f, field: "before" })),
                   ...after.map((f) => ({ name: f.name, blob: f, field: "after" }))];
    await send("handle", { result }, files);
  });

  rform.addEventListener("submit", async (e) => {
    e.preventDefault();
    const kind = rform.dataset.kind, note = rform.note.value.trim();
    if (!note) return fail("r-error", t("请填写原因", "Give a reason"));
    $("request-dialog").close();
    await send(`request_${kind}`, kind === "extension" ? { note, extension: rform.extension.value } : { note }, []);
  });

  async function send(action, data, files) {
    const c = current;
    await enqueue({ url: `/api/v1/department/cases/${c.id}/actions/${action}`, data: JSON.stringify(data), files,
                    caseId: c.id, caseNumber: c.number, action, label: `${c.number} ${ACTION_LABELS[action]}` });
  }
  $("send-now").addEventListener("click", () => box.flush());

  showNet();
  renderOutbox();
  loadCases();
  box.flush();
  if ("serviceWorker" in navigator) {
    // Once the worker controls the page, load the list through it so that an offline start shows it.
    navigator.serviceWorker.addEventListener("controllerchange", loadCases);
    navigator.serviceWorker.register("/m/department/sw.js", { scope: "/m/department" }).catch(() => {});
  }
})();
