// Shared page behaviour: htmx and fetch() calls echo the CSRF cookie in a header (the session is a cookie).
(function () {
  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  // Text for innerHTML and Leaflet popups/tooltips (which take HTML): names typed by users must never become markup.
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  // One date format on every page: 2026-12-03 13:25, in the deployment's time zone (Swedish writes dates as ISO).
  const STAMP = new Intl.DateTimeFormat("sv-SE", { timeZone: document.body.dataset.tz || "Asia/Shanghai",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  const when = (v) => {
    if (v === null || v === undefined || v === "") return "";
    const d = typeof v === "number" ? new Date(v * 1000) : new Date(v);
    return isNaN(d) ? "" : STAMP.format(d).slice(0, 16);
  };
  // The one vocabulary (web/vocab.py), in the page's language: label("stage", "verifying") -> 核实中.
  const vocab = window.CL_VOCAB || {};
  const label = (kind, code) => (code === null || code === undefined || code === "" ? ""
    : (vocab[kind] || {})[code] ?? (document.body.dataset.lang === "en" ? "other" : "其他"));
  window.cityloop = {
    esc,
    label,
    when,
    csrf: () => cookie("cl_csrf"),
    lang: document.body.dataset.lang || "zh",
    t: (zh, en) => (document.body.dataset.lang === "en" ? en : zh),
    api: async function (method, url, body) {
      const opts = { method, headers: { "X-CSRF-Token": cookie("cl_csrf") }, credentials: "same-origin" };
      if (body instanceof FormData) opts.body = body;
      else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
      const res = await fetch(url, opts);
      const type = res.headers.get("content-type") || "";
      const data = res.status === 204 ? null : type.includes("json") ? await res.json() : await res.text();
      if (!res.ok) throw Object.assign(new Error((data && data.detail) || res.statusText), { status: res.status, data });
      return data;
    },
  };
  // A question in a <dialog> (never window.prompt): resolves with the typed text, or null when cancelled.
  window.cityloop.ask = function (question, opts = {}) {
    const t = window.cityloop.t;
    const dialog = document.createElement("dialog");
    dialog.className = "ask-dialog";
    dialog.innerHTML = `<form method="dialog"><label>${esc(question)}<textarea name="answer" rows="3"></textarea></label>
      <menu><button value="ok">${esc(t("确定", "OK"))}</button>
      <button value="cancel" formnovalidate class="secondary">${esc(t("取消", "Cancel"))}</button></menu></form>`;
    const field = dialog.querySelector("textarea");
    field.required = !!opts.required;
    field.value = opts.value || "";
    document.body.appendChild(dialog);
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "ok" ? field.value.trim() : null);
        dialog.remove();
      });
      dialog.showModal();
      field.focus();
    });
  };
  // The header's menu dropdowns: one open at a time, closed by a click elsewhere or Escape; the current page's entry
  // (and its area) is marked.
  const groups = [...document.querySelectorAll(".topbar .menu-group")];
  for (const g of groups) g.addEventListener("toggle", () => { if (g.open) groups.forEach((o) => { if (o !== g) o.open = false; }); });
  document.addEventListener("click", (e) => { for (const g of groups) if (g.open && !g.contains(e.target)) g.open = false; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") groups.forEach((g) => { g.open = false; }); });
  const here = [...document.querySelectorAll(".topbar .menu a")].filter((a) => location.pathname === a.pathname ||
    (a.pathname !== "/console" && location.pathname.startsWith(a.pathname + "/")));
  for (const a of here) { a.setAttribute("aria-current", "page"); a.closest(".menu-group")?.classList.add("current"); }
  document.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = cookie("cl_csrf"); });

  // <form data-api="POST /api/v1/users"> sends its fields as JSON (checkboxes as booleans, multi-selects as lists,
  // empty fields left out) and reloads the page; <button data-api="PATCH /api/…" data-body='{…}'> does the same
  // with a fixed body. A problem detail is shown in the nearest .message element.
  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "submit") continue;
      if (el.type === "checkbox") body[el.name] = el.checked;
      else if (el.multiple) body[el.name] = Array.from(el.selectedOptions).map((o) => o.value);
      else if (el.value !== "") body[el.name] = el.dataset.type === "number" ? Number(el.value) : el.value;
    }
    return body;
  }
  async function call(target, spec, body) {
    const [method, url] = spec.split(" ");
    const box = target.closest("section, form, body").querySelector(".message");
    try {
      await window.cityloop.api(method, url, method === "DELETE" ? undefined : body);
      location.reload();
    } catch (err) {
      if (box) { box.textContent = err.message; box.className = "message error"; }
      else alert(err.message);
    }
  }
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-api]");
    if (!form) return;
    e.preventDefault();
    call(form, form.dataset.api, formBody(form));
  });
  document.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-api]");
    if (!button || button.form) return;
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    call(button, button.dataset.api, button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
  });
})();
