// 热线受理: caller, phone, a free-text address placed through the gazetteer, category, description; the open cases
// near the place are shown before saving, and the report goes to the case API with source=hotline.
(function () {
  const t = cityloop.t;
  const form = document.getElementById("hotline");
  const msg = document.getElementById("msg");
  const cands = document.getElementById("cands");
  const newKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  let key = newKey();
  const map = window.cityloopMap("map", { zoom: 14 });  // the deployment's urban centre
  window.cityloopMap.legend(map, [["#2a81cb", ["问题位置（点击地图标注）", "Problem place (click the map)"], "pin"]]);
  let pin = null;

  function place(lon, lat) {
    form.lon.value = lon.toFixed(6);
    form.lat.value = lat.toFixed(6);
    if (pin) pin.setLatLng([lat, lon]); else pin = L.marker([lat, lon]).addTo(map);
    map.setView([lat, lon], 16);
    cityloop.showPlace(document.getElementById("place-label"), lon, lat);
    nearby();
  }
  map.on("click", (e) => place(e.latlng.lng, e.latlng.lat));
  fetch("/api/v1/channels/public/area").then((r) => r.json()).then((a) => {
    if (a.bbox) map.fitBounds([[a.bbox[1], a.bbox[0]], [a.bbox[3], a.bbox[2]]]);
  });
  cityloop.api("GET", "/api/v1/catalog/categories?kind=matter").then((items) => {
    for (const c of items) form.category_code.appendChild(new Option(`${c.code} ${c.name}`, c.code));
  });

  let timer = null;
  form.address.addEventListener("input", () => {
    clearTimeout(timer);
    const q = form.address.value.trim();
    if (!q) { cands.hidden = true; return; }
    timer = setTimeout(async () => {
      const found = await cityloop.api("GET", `/api/v1/geo/geocode?q=${encodeURIComponent(q)}&limit=8`);
      cands.innerHTML = "";
      for (const c of found) {
        const li = document.createElement("li");
        li.textContent = `${c.name}${c.address ? " · " + c.address : ""}`;
        li.onclick = () => { place(c.lon, c.lat); cands.hidden = true; };
        cands.appendChild(li);
      }
      cands.hidden = !found.length;
    }, 250);
  });
  form.category_code.addEventListener("change", nearby);
  cityloop.catPicker(form.category_code, { description: form.description });

  async function nearby() {
    const lon = parseFloat(form.lon.value), lat = parseFloat(form.lat.value);
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
    const code = form.category_code.value;
    const found = await cityloop.api("GET", `/api/v1/channels/nearby?lon=${lon}&lat=${lat}&radius_m=300${code ? "&category_code=" + code : ""}`);
    const list = document.getElementById("nearby");
    list.innerHTML = found.length ? "" : `<li class="note">${t("附近没有未办结案件", "No open cases nearby")}</li>`;
    for (const c of found) {
      const li = document.createElement("li");
      li.textContent = `${c.number} · ${c.category_name} · ${c.stage_name} · ${Math.round(c.distance_m)} m · ${c.description}`;
      list.appendChild(li);
    }
  }

  // 保存并受理: the operator's second button saves and accepts in one request (?accept=true).
  function reportUrl(button) { return button && button.dataset.accept ? "/api/v1/cases?accept=true" : "/api/v1/cases"; }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { source: "hotline", category_code: form.category_code.value, description: form.description.value.trim(),
                   lon: parseFloat(form.lon.value), lat: parseFloat(form.lat.value) };
    for (const k of ["reporter_name", "reporter_phone", "address"]) if (form[k].value.trim()) body[k] = form[k].value.trim();
    if (!body.category_code || !body.description || !Number.isFinite(body.lon)) {
      msg.className = "error"; msg.textContent = t("请填写地址（定位）、类别和描述", "Place, category and description are needed"); return;
    }
    try {
      const res = await fetch(reportUrl(e.submitter), { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": cityloop.csrf(), "Idempotency-Key": key } });
      const data = await res.json();
      if (!res.ok) throw new Error(data.detail || res.statusText);
      msg.className = "msg";
      const done = e.submitter && e.submitter.dataset.accept ? t("已保存并受理", "Saved and accepted") : t("已保存", "Saved");
      msg.textContent = t(`${done}：${data.number}（${cityloop.label("stage", data.stage)}）`,
        `${done}: ${data.number} (${cityloop.label("stage", data.stage)})`);
      form.reset(); key = newKey();
    } catch (err) {
      msg.className = "error"; msg.textContent = err.message;
    }
  });
})();
