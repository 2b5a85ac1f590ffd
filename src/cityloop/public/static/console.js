// Console pages of public services: CSV upload and the 追呼 start form (the rest uses app.js's data-api forms).
(function () {
  const t = cityloop.t;
  function fail(form, err) {
    const box = form.querySelector(".message");
    let text = err.message;
    if (err.data && err.data.errors) text += "：" + err.data.errors.map((e) => (e.line ? `${t("第", "line ")}${e.line}${t("行", "")} ` : "") + (e.error || e.msg)).join("；");
    if (box) { box.textContent = text; box.className = "message error"; } else alert(text);
  }
  const upload = document.querySelector("form[data-upload]");
  if (upload) upload.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await cityloop.api("POST", upload.dataset.upload, new FormData(upload));
      const box = upload.querySelector(".message");
      box.className = "message ok";
      box.textContent = t(`新增 ${r.created}，更新 ${r.updated}`, `${r.created} created, ${r.updated} updated`);
      setTimeout(() => location.reload(), 800);
    } catch (err) { fail(upload, err); }
  });
  const start = document.querySelector("form[data-campaign]");
  if (start) start.addEventListener("submit", async (e) => {
    e.preventDefault();
    const phones = start.phones.value.split(/[\n,，;；、]+/).map((p) => p.trim()).filter(Boolean);
    let caseId = start.case.value.trim();
    try {
      if (!/^\d+$/.test(caseId)) caseId = (await cityloop.api("GET", `/api/v1/cases/${encodeURIComponent(caseId)}`)).id;
      await cityloop.api("POST", start.dataset.campaign, { case_id: Number(caseId), phones });
      location.reload();
    } catch (err) { fail(start, err); }
  });
})();
