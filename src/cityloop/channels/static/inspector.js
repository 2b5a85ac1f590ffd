// 城管通: the inspector's app. Reports and task answers go through the shared offline outbox (outbox.js), each with
// its own Idempotency-Key, so a resend after a lost answer never makes a second case. Position pings queue too.
(function () {
  const t = cityloop.t;
  const $ = (id) => document.getElementById(id);
  // --- outbox (channels/static/outbox.js): reports and task answers; position pings wait in their own store ---
  const box = cityloop.outbox("cityloop-inspector", {
    stores: ["pings"],
    accepted: (item, res) => res.ok || (item.kind === "action" && res.status === 409),  // 409: already answered
    onSent: (item, data) => {
      flash(item.kind === "report" ? t(`已上报：${data.number || ""}`, `Reported: ${data.number || ""}`) : t("任务已回复", "Task answered"));
      if (item.kind === "action") loadTasks();
    },
    onFailed: (item, message) => { flash(message, true); if (item.kind === "action") loadTasks(); },
    onAuth: () => flash(t("登录已失效，请重新登录后自动发送", "Log in again to send the outbox"), true),
    onChange: () => renderOutbox(),
  });
  const all = box.all;
  const put = box.put;
  const remove = box.remove;

  function flash(text, error) {
    const el = $("flash");
    el.hidden = false;
    el.className = error ? "msg err" : "msg";
    el.textContent = text;
  }

  async function enqueue(item) {
    const sent = await flush(box.enqueue(item));
    if (!sent) flash(t("已保存在手机上，联网后自动发送", "Saved on the phone; it will be sent when online"));
  }

  // Sends the outbox (or waits for the given send), then the queued position pings; true when the outbox is empty.
  async function flush(sending) {
    const sent = await (sending || box.flush());
    const pings = await all("pings");
    if (pings.length) {
      const res = await fetch("/api/v1/channels/pings", { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": cityloop.csrf(), "Content-Type": "application/json" },
        body: JSON.stringify({ pings: pings.slice(0, 500).map(({ lon, lat, accuracy_m, at }) => ({ lon, lat, accuracy_m, at })) }) }).catch(() => null);
      if (res && (res.ok || res.status === 422)) for (const p of pings.slice(0, 500)) await remove("pings", p.id);
    }
    return sent;
  }

  async function renderOutbox() {
    const items = await all("outbox");
    $("queued").textContent = items.length;
    const list = $("outbox");
    list.innerHTML = "";
    for (const item of items) {
      const li = document.createElement("li");
      li.dataset.key = item.key;
      const when = cityloop.when(item.created);
      li.textContent = `${item.label} · ${when} · ${item.files.length} ${t("张照片", "photos")} `;
      if (item.failed) {
        const err = document.createElement("span");
        err.className = "error";
        err.textContent = item.error;
        const drop = document.createElement("button");
        drop.className = "link";
        drop.textContent = t(" 删除", " delete");
        drop.onclick = () => box.drop(item.id);
        li.append(err, drop);
      } else {
        li.append(t("等待发送", "waiting"));
      }
      list.appendChild(li);
    }
  }

  // --- network state ---------------------------------------------------------------------------------------------
  function showNet() {
    const on = navigator.onLine;
    $("net").textContent = on ? t("在线", "Online") : t("离线", "Offline");
    $("net").className = on ? "net" : "net off";
  }
  window.addEventListener("online", () => { showNet(); flush(); loadTasks(); });  // the outbox resends itself too
  window.addEventListener("offline", showNet);

  // --- tabs, map, position ---------------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => {
      for (const x of document.querySelectorAll("#tabs button")) x.classList.toggle("on", x === b);
      for (const s of document.querySelectorAll("section[data-tab]")) s.hidden = s.dataset.tab !== b.dataset.go;
      if (b.dataset.go === "map") setTimeout(() => map.invalidateSize(), 50);
      if (b.dataset.go === "queue") renderOutbox();
      if (b.dataset.go === "tasks") setTimeout(() => cardMaps.forEach((m) => m.invalidateSize()), 50);
    });
  }
  const map = window.cityloopMap("map", { zoom: 15 });  // the deployment's urban centre
  window.cityloopMap.legend(map, [["#0b5cad", ["我的责任网格", "My duty grid"], "area"],
    ["#2a81cb", ["上报选点", "Report place"], "pin"], ["#1a73e8", ["我的位置", "Me"]]]);
  let pin = null;
  const form = $("report");
  function pick(lat, lon, how) {
    form.lat.value = lat.toFixed(6);
    form.lon.value = lon.toFixed(6);
    if (pin) pin.setLatLng([lat, lon]); else pin = L.marker([lat, lon]).addTo(map);
    $("pos").textContent = `${how}: ${lon.toFixed(5)}, ${lat.toFixed(5)}`;
    loadCategories(lon, lat);
    loadComponents(lon, lat);
  }
  // Components surveyed within 50 m, nearest first: a report about one names its 17-digit id.
  async function loadComponents(lon, lat) {
    let page;
    try { page = await cityloop.api("GET", `/api/v1/catalog/components?near_lon=${lon}&near_lat=${lat}&radius_m=50&size=20`); }
    catch (e) { return; }
    const select = form.component_id;
    select.length = 1;
    for (const c of page.items) select.appendChild(new Option(`${c.type_name} ${c.id.slice(-6)} · ${Math.round(c.distance_m)} m`, c.id));
  }
  map.on("click", (e) => pick(e.latlng.lat, e.latlng.lng, t("已选点", "Picked")));
  fetch("/api/v1/channels/duty-grids/mine", { credentials: "same-origin" }).then((r) => r.json()).then((doc) => {
    $("grids").textContent = (doc.duty_grids || []).join("、");
    if (!doc.features || !doc.features.length) return;
    const layer = L.geoJSON(doc, { style: { color: "#0b5cad", weight: 1, fillOpacity: 0.08 } }).addTo(map);
    map.fitBounds(layer.getBounds());
  }).catch(() => {});

  // Where the inspector is now (null until the phone says): task distances and the blue dot use it.
  let here = null, hereDot = null;
  function located(c) {
    here = { lat: c.latitude, lon: c.longitude };
    if (hereDot) hereDot.setLatLng([here.lat, here.lon]);
    else hereDot = L.circleMarker([here.lat, here.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1, interactive: false }).addTo(map);
    for (const m of cardMaps) showHere(m);
    showDistances();
  }
  function locate(then) {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((p) => { located(p.coords); then(p.coords); }, () => {}, { enableHighAccuracy: true, timeout: 10000 });
  }
  $("gps").addEventListener("click", () => locate((c) => pick(c.latitude, c.longitude, t("当前位置", "Here"))));
  // Patrol track: one ping a minute, queued like everything else.
  function ping() {
    locate((c) => put("pings", { lon: c.longitude, lat: c.latitude, accuracy_m: c.accuracy || null, at: new Date().toISOString() }));
  }
  ping();
  setInterval(ping, 60000);

  // --- categories: recent and nearby first -----------------------------------------------------------------------
  async function loadCategories(lon, lat) {
    const q = lon !== undefined ? `?lon=${lon}&lat=${lat}` : "";
    let items;
    try { items = await cityloop.api("GET", `/api/v1/channels/categories/suggest${q}`); } catch (e) { return; }
    const select = form.category_code;
    const chosen = select.value;
    select.innerHTML = "";
    const names = { recent: t("最近使用", "Recent"), nearby: t("附近常见", "Nearby"), catalog: t("全部", "All") };
    const groups = {};
    for (const c of items) {
      if (!groups[c.reason]) { groups[c.reason] = document.createElement("optgroup"); groups[c.reason].label = names[c.reason]; select.appendChild(groups[c.reason]); }
      groups[c.reason].appendChild(new Option(`${c.code} ${c.name}`, c.code));
    }
    if (chosen) select.value = chosen;
  }
  loadCategories();
  cityloop.catPicker(form.category_code, { description: form.description });

  // --- report ----------------------------------------------------------------------------------------------------
  form.self_handled.addEventListener("change", () => { $("after-box").hidden = !form.self_handled.checked; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const before = Array.from(form.photos.files), after = form.self_handled.checked ? Array.from(form.after.files) : [];
    const lon = parseFloat(form.lon.value), lat = parseFloat(form.lat.value);
    if (!before.length || before.length + after.length > 6) return flash(t("请拍 1–6 张照片", "Take 1–6 photos"), true);
    if (form.self_handled.checked && !after.length) return flash(t("自行处置需要处置后照片", "Add the after photos"), true);
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return flash(t("请先定位或在地图上选点", "Locate or pick a place first"), true);
    if (!form.category_code.value || !form.description.value.trim()) return flash(t("请选择类别并填写描述", "Pick a category and describe it"), true);
    let description = form.description.value.trim();
    if (after.length) description += t(`（处置前照片 ${before.length} 张，处置后 ${after.length} 张）`, ` (before: ${before.length}, after: ${after.length})`);
    const data = { category_code: form.category_code.value, lon, lat, description, self_handled: form.self_handled.checked };
    if (form.address.value.trim()) data.address = form.address.value.trim();
    if (form.component_id.value) data.component_id = form.component_id.value;
    const files = [...before, ...after].map((f) => ({ name: f.name, blob: f }));
    await enqueue({ kind: "report", url: "/api/v1/cases", data: JSON.stringify(data), files,
                    label: t(`上报 ${form.category_code.selectedOptions[0].text}`, `Report ${data.category_code}`) });
    form.reset();
    $("after-box").hidden = true;
  });

  // --- tasks: 核实 and 核查 --------------------------------------------------------------------------------------
  // Each card: the case's description, the reporter's photos (tap to enlarge), its place on a small map, the distance
  // from here and a link that hands the place to the phone's map app. A task answered into the outbox leaves the
  // list at once, and the badges count exactly the cards shown.
  const ANSWERS = { verify: [["verify_ok", t("属实", "True")], ["verify_fail", t("不属实", "Not true")]],
                    check: [["check_ok", t("已处置", "Done")], ["check_fail", t("未处置(返工)", "Not done")]] };
  const M = window.cityloopMap, esc = cityloop.esc;
  let tasks = [], cardMaps = [];
  const seen = new IntersectionObserver((entries) => entries.forEach((e) => { if (e.isIntersecting) { seen.unobserve(e.target); drawCardMap(e.target); } }));
  function drawCardMap(el) {
    const lat = Number(el.dataset.lat), lon = Number(el.dataset.lon);
    const m = M(el, { center: [lat, lon], zoom: 17, zoomControl: false, attributionControl: false, dragging: false,
                      scrollWheelZoom: false, doubleClickZoom: false, touchZoom: false, boxZoom: false, keyboard: false });
    L.circleMarker([lat, lon], { radius: 8, color: "#d93025", weight: 3, fillOpacity: 0.7 }).addTo(m);
    M.legend(m, [["#d93025", ["问题位置", "Problem place"]], ["#1a73e8", ["我的位置", "Me"]]], "topleft");
    m.place = [lat, lon];
    cardMaps.push(m);
    if (here) showHere(m);
  }
  // The blue dot on a card's map; within 2 km the map widens to show both the place and the inspector.
  function showHere(m) {
    if (m.hereDot) return m.hereDot.setLatLng([here.lat, here.lon]);
    m.hereDot = L.circleMarker([here.lat, here.lon], { radius: 6, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1, interactive: false }).addTo(m);
    if (M.distance(here, { lat: m.place[0], lon: m.place[1] }) < 2000) m.fitBounds([m.place, [here.lat, here.lon]], { paddingTopLeft: [90, 24], paddingBottomRight: [24, 24], maxZoom: 17 });
  }
  function showDistances() {
    for (const el of document.querySelectorAll("#tasks .distance")) {
      const li = el.closest("li");
      el.hidden = !here;
      if (here) el.textContent = M.distanceText(M.distance(here, { lat: Number(li.dataset.lat), lon: Number(li.dataset.lon) }));
    }
  }
  function countTasks() {
    const shown = tasks.filter((x) => !x.answered);
    const verify = shown.filter((x) => x.kind === "verify").length, check = shown.length - verify;
    for (const [id, n] of [["task-count", shown.length], ["verify-count", verify], ["check-count", check]]) {
      $(id).textContent = n;
      $(id).classList.toggle("zero", n === 0);
    }
    if (!shown.length) $("tasks").innerHTML = `<li class="note">${t("暂无任务", "No tasks")}</li>`;
  }
  async function loadTasks() {
    let items;
    try { items = (await cityloop.api("GET", "/api/v1/tasks")).filter((x) => x.kind === "verify" || x.kind === "check"); }
    catch (e) { return; }
    const waiting = new Set((await all("outbox")).filter((i) => i.kind === "action" && !i.failed).map((i) => i.url.split("/actions/")[0]));
    tasks = items.filter((x) => !waiting.has(`/api/v1/cases/${x.case_id}`));
    cardMaps.forEach((m) => m.remove());
    cardMaps = [];
    const list = $("tasks");
    list.innerHTML = "";
    for (const task of tasks) list.appendChild(taskCard(task));
    countTasks();
    showDistances();
  }
  function taskCard(task) {
    const li = document.createElement("li");
    li.className = "task-card";
    li.dataset.case = task.case_number;
    li.dataset.kind = task.kind;
    li.dataset.lat = task.lat;
    li.dataset.lon = task.lon;
    const due = task.due_at ? cityloop.when(task.due_at).slice(5) : "";  // this year's: 12-03 13:25
    const name = `${task.case_number} ${task.category_name}`;
    const photos = (task.photos || []).map((id) => `<img src="/api/v1/photos/${Number(id)}/thumb" data-full="/api/v1/photos/${Number(id)}"
        alt="${esc(t("上报照片", "Reported photo"))}" loading="lazy">`).join("");
    li.innerHTML = `<div class="task-head"><span class="light ${esc(task.light || "")}"></span> <strong>${esc(task.case_number)}</strong>
        <span class="tag ${esc(task.kind)}">${esc(task.kind_name)}</span>${due ? `<span class="due">${t("时限", "due")} ${esc(due)}</span>` : ""}</div>
      <div class="meta">${esc(task.category_name)}${task.address ? " · " + esc(task.address) : ""}</div>
      <p class="description">${esc(task.description)}</p>
      <div class="thumbs">${photos || `<span class="note">${t("无上报照片", "No photo")}</span>`}</div>
      ${task.lat != null ? `<div class="task-map" data-lat="${Number(task.lat)}" data-lon="${Number(task.lon)}" aria-label="${esc(t("问题位置", "Problem place"))}"></div>
      <div class="row nav-row"><span class="distance note" hidden></span>
        <a class="button secondary nav" href="${esc(M.amapUrl(task.lat, task.lon, name))}" rel="noopener">${t("导航前往", "Navigate")}</a>
        <a class="geo" href="${esc(M.geoUrl(task.lat, task.lon, name))}">${t("其他地图", "Other map app")}</a></div>` : ""}
      <form class="m-form"><div class="row file-row"><label class="file-button">${t("拍现场照片", "Take site photos")}<input type="file" name="photos" accept="image/jpeg,image/png,image/webp" capture="environment" multiple></label>
        <span class="file-count note">${t("未选照片", "No photo yet")}</span></div>
        <input name="note" maxlength="500" placeholder="${t("说明（不属实/未处置时必填）", "Note (required when not true/not done)")}">
        <div class="row answers"></div></form>`;
    const f = li.querySelector("form");
    f.photos.addEventListener("change", () => {
      const n = f.photos.files.length;
      li.querySelector(".file-count").textContent = n ? t(`已选 ${n} 张`, `${n} selected`) : t("未选照片", "No photo yet");
    });
    for (const [action, label] of ANSWERS[task.kind]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = action.endsWith("ok") ? "primary" : "secondary";
      b.textContent = label;
      b.dataset.action = action;
      b.onclick = async () => {
        const photos = Array.from(f.photos.files);
        if (!photos.length) return flash(t("回复任务需要现场照片", "Answering a task takes photos"), true);
        const note = f.note.value.trim();
        if (!action.endsWith("ok") && !note) return flash(t("请填写说明", "Add a note"), true);
        task.answered = true;
        li.remove();
        countTasks();
        await enqueue({ kind: "action", url: `/api/v1/cases/${task.case_id}/actions/${action}`,
                        data: JSON.stringify(note ? { note } : {}), files: photos.map((p) => ({ name: p.name, blob: p })),
                        label: `${task.case_number} ${label}` });
      };
      f.querySelector(".answers").appendChild(b);
    }
    const mapEl = li.querySelector(".task-map");
    if (mapEl) seen.observe(mapEl);
    return li;
  }
  $("tasks").addEventListener("click", (e) => {  // a thumbnail opens the photo full size
    const img = e.target.closest(".thumbs img");
    if (!img) return;
    $("photo-dialog").querySelector("img").src = img.dataset.full;
    $("photo-dialog").showModal();
  });
  $("photo-dialog").addEventListener("click", () => $("photo-dialog").close());
  $("reload-tasks").addEventListener("click", loadTasks);
  $("send-now").addEventListener("click", () => flush());

  showNet();
  renderOutbox();
  loadTasks();
  flush();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/m/inspector/sw.js", { scope: "/m/inspector" }).catch(() => {});
})();
