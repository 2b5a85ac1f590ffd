// 城管通: the inspector's app. Reports and task answers go into an IndexedDB outbox first and are sent from there
// (now if online, else when the phone is back online), each with its own Idempotency-Key, so a resend after a lost
// answer never makes a second case. Position pings queue the same way.
(function () {
  const t = cityloop.t;
  const $ = (id) => document.getElementById(id);
  const newKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

  // --- IndexedDB outbox -------------------------------------------------------------------------------------------
  const dbReady = new Promise((resolve, reject) => {
    const open = indexedDB.open("cityloop-inspector", 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
      open.result.createObjectStore("pings", { keyPath: "id", autoIncrement: true });
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  async function store(name, mode, fn) {
    const db = await dbReady;
    return new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const req = fn(tx.objectStore(name));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
    });
  }
  const all = (name) => store(name, "readonly", (s) => s.getAll());
  const put = (name, item) => store(name, "readwrite", (s) => s.put(item));
  const remove = (name, id) => store(name, "readwrite", (s) => s.delete(id));

  function flash(text, error) {
    const el = $("flash");
    el.hidden = false;
    el.className = error ? "msg err" : "msg";
    el.textContent = text;
  }

  async function enqueue(item) {
    await put("outbox", { ...item, key: newKey(), created: new Date().toISOString(), failed: false, error: null });
    await renderOutbox();
    const sent = await flush();
    if (!sent) flash(t("已保存在手机上，联网后自动发送", "Saved on the phone; it will be sent when online"));
  }

  let flushing = false;
  // Sends everything queued; true when the outbox is empty afterwards.
  async function flush() {
    if (flushing) return false;
    flushing = true;
    try {
      for (const item of await all("outbox")) {
        if (item.failed) continue;
        const body = new FormData();
        body.append("data", item.data);
        for (const f of item.files) body.append("photos", f.blob, f.name);
        let res;
        try {
          res = await fetch(item.url, { method: "POST", body, credentials: "same-origin",
            headers: { "X-CSRF-Token": cityloop.csrf(), "Idempotency-Key": item.key } });
        } catch (e) {
          return false; // offline: try again later
        }
        if (res.ok || (item.kind === "action" && res.status === 409)) {
          const data = await res.json().catch(() => ({}));
          await remove("outbox", item.id);
          flash(item.kind === "report"
            ? t(`已上报：${data.number || ""}`, `Reported: ${data.number || ""}`)
            : t("任务已回复", "Task answered"));
        } else if (res.status === 401 || res.status >= 500) {
          if (res.status === 401) flash(t("登录已失效，请重新登录后自动发送", "Log in again to send the outbox"), true);
          return false;
        } else {
          const data = await res.json().catch(() => ({}));
          await put("outbox", { ...item, failed: true, error: data.detail || res.statusText });
          flash(data.detail || res.statusText, true);
        }
      }
      const pings = await all("pings");
      if (pings.length) {
        const res = await fetch("/api/v1/channels/pings", { method: "POST", credentials: "same-origin",
          headers: { "X-CSRF-Token": cityloop.csrf(), "Content-Type": "application/json" },
          body: JSON.stringify({ pings: pings.slice(0, 500).map(({ lon, lat, accuracy_m, at }) => ({ lon, lat, accuracy_m, at })) }) }).catch(() => null);
        if (res && (res.ok || res.status === 422)) for (const p of pings.slice(0, 500)) await remove("pings", p.id);
      }
      return (await all("outbox")).filter((i) => !i.failed).length === 0;
    } finally {
      flushing = false;
      renderOutbox();
    }
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
        drop.onclick = async () => { await remove("outbox", item.id); renderOutbox(); };
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
  window.addEventListener("online", () => { showNet(); flush(); loadTasks(); });
  window.addEventListener("offline", showNet);
  setInterval(() => { if (navigator.onLine) flush(); }, 15000);

  // --- tabs, map, position ---------------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => {
      for (const x of document.querySelectorAll("#tabs button")) x.classList.toggle("on", x === b);
      for (const s of document.querySelectorAll("section[data-tab]")) s.hidden = s.dataset.tab !== b.dataset.go;
      if (b.dataset.go === "map") setTimeout(() => map.invalidateSize(), 50);
      if (b.dataset.go === "queue") renderOutbox();
    });
  }
  const map = window.cityloopMap("map", { zoom: 15 });  // the deployment's urban centre
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

  function locate(then) {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((p) => then(p.coords), () => {}, { enableHighAccuracy: true, timeout: 10000 });
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
  const ANSWERS = { verify: [["verify_ok", t("属实", "True")], ["verify_fail", t("不属实", "Not true")]],
                    check: [["check_ok", t("已处置", "Done")], ["check_fail", t("未处置(返工)", "Not done")]] };
  async function loadTasks() {
    let tasks;
    try { tasks = (await cityloop.api("GET", "/api/v1/tasks")).filter((x) => x.kind === "verify" || x.kind === "check"); }
    catch (e) { return; }
    $("task-count").textContent = tasks.length;
    const list = $("tasks");
    list.innerHTML = "";
    if (!tasks.length) list.innerHTML = `<li class="note">${t("暂无任务", "No tasks")}</li>`;
    for (const task of tasks) {
      const li = document.createElement("li");
      li.dataset.case = task.case_number;
      const due = cityloop.when(task.due_at).slice(5);  // this year's: 12-03 13:25
      li.innerHTML = `<div><span class="light ${cityloop.esc(task.light)}"></span> <strong></strong> <span class="tag"></span></div>
        <div class="meta"></div>
        <form class="m-form"><input type="file" name="photos" accept="image/jpeg,image/png,image/webp" capture="environment" multiple>
        <input name="note" maxlength="500" placeholder="${t("说明（不属实/未处置时必填）", "Note (required when not true/not done)")}">
        <div class="row"></div></form>`;
      li.querySelector("strong").textContent = task.case_number;
      li.querySelector(".tag").textContent = task.kind_name;
      li.querySelector(".meta").textContent = `${task.category_name} · ${task.address || ""} · ${t("时限", "due")} ${due}`;
      const f = li.querySelector("form");
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
          await enqueue({ kind: "action", url: `/api/v1/cases/${task.case_id}/actions/${action}`,
                          data: JSON.stringify(note ? { note } : {}), files: photos.map((p) => ({ name: p.name, blob: p })),
                          label: `${task.case_number} ${label}` });
          li.remove();
        };
        f.querySelector(".row").appendChild(b);
      }
      list.appendChild(li);
    }
  }
  $("reload-tasks").addEventListener("click", loadTasks);
  $("send-now").addEventListener("click", () => flush());

  showNet();
  renderOutbox();
  loadTasks();
  flush();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/m/inspector/sw.js", { scope: "/m/inspector" }).catch(() => {});
})();
