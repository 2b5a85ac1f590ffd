// 类别选择器: a search box over the catalog (characters or pinyin initials such as "ldbl"), recent categories first,
// and suggestion chips from the free-text description. The catalog list comes from one cacheable GET, so the search
// works offline; suggestions ask the server when online. The page's own <select> keeps the value.
(function () {
  const t = cityloop.t;
  const RECENT = "cityloop.recentCategories";
  let catalog = null;
  const load = () => catalog || (catalog = fetch("/api/v1/catalog/picker", { credentials: "same-origin" })
    .then((r) => r.json()).then((d) => d.items).catch(() => { catalog = null; return []; }));
  const recent = () => { try { return JSON.parse(localStorage.getItem(RECENT)) || []; } catch (e) { return []; } };
  const remember = (code) => {
    try { localStorage.setItem(RECENT, JSON.stringify([code, ...recent().filter((c) => c !== code)].slice(0, 8))); } catch (e) { /* private mode */ }
  };

  // How well an item matches the query: 3 prefix of the name (or its initials), 2 inside the name, 1 a colloquial word.
  function rank(item, q) {
    if (/^[a-z]+$/.test(q)) {
      if (item.py.startsWith(q)) return 3;
      if (item.py.includes(q)) return 2;
      return item.words_py.some((w) => w.startsWith(q)) ? 1.5 : item.words_py.some((w) => w.includes(q)) ? 1 : 0;
    }
    if (item.name.startsWith(q) || item.code.startsWith(q)) return 3;
    if (item.name.includes(q)) return 2;
    return item.words.some((w) => w.includes(q) || q.includes(w)) ? 1 : 0;
  }

  function attach(select, opts) {
    opts = opts || {};
    load();  // fetched now, so the service worker keeps it for offline use
    const box = document.createElement("div");
    box.className = "catpicker";
    const input = document.createElement("input");
    input.type = "search";
    input.className = "cat-search";
    input.autocomplete = "off";
    input.placeholder = t("搜索类别：汉字或拼音首字母，如 ldbl", "Search: characters or pinyin initials, e.g. ldbl");
    input.setAttribute("aria-label", t("搜索类别", "Search categories"));
    const list = document.createElement("ul");
    list.className = "cat-list";
    list.hidden = true;
    box.append(input, list);
    select.parentNode.insertBefore(box, select);
    const chips = document.createElement("div");
    chips.className = "cat-chips";
    if (opts.description) opts.description.parentNode.insertBefore(chips, opts.description.nextSibling);

    function choose(code, name) {
      if (!Array.from(select.options).some((o) => o.value === code)) select.appendChild(new Option(`${code} ${name}`, code));
      select.value = code;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      input.value = name;
      list.hidden = true;
    }
    select.addEventListener("change", () => { if (select.value) remember(select.value); });

    function item(c, note) {
      const li = document.createElement("li");
      li.dataset.code = c.code;
      li.textContent = `${c.name}${note ? " · " + note : ""}`;
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(c.code, c.name); });
      return li;
    }
    async function show() {
      const items = await load();
      const q = input.value.trim().toLowerCase();
      const order = recent();
      const bonus = (c) => (order.includes(c.code) ? 10 - order.indexOf(c.code) / 10 : 0);
      let found;
      if (!q) found = order.map((code) => items.find((c) => c.code === code)).filter(Boolean).map((c) => [c, t("最近", "recent")]);
      else {
        found = items.map((c) => [c, rank(c, q)]).filter(([, r]) => r > 0)
          .sort((a, b) => (b[1] + bonus(b[0])) - (a[1] + bonus(a[0])) || a[0].code.localeCompare(b[0].code))
          .slice(0, 12).map(([c]) => [c, order.includes(c.code) ? t("最近", "recent") : c.major_name]);
      }
      list.replaceChildren(...found.map(([c, note]) => item(c, note)));
      list.hidden = !found.length;
    }
    input.addEventListener("input", show);
    input.addEventListener("focus", show);
    input.addEventListener("blur", () => { list.hidden = true; });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); const first = list.querySelector("li"); if (first) first.dispatchEvent(new Event("mousedown")); }
      if (e.key === "Escape") list.hidden = true;
    });

    if (!opts.description) return;
    let timer = null;
    opts.description.addEventListener("input", () => {
      clearTimeout(timer);
      const text = opts.description.value.trim();
      if (text.length < 2 || !navigator.onLine) { chips.replaceChildren(); return; }
      timer = setTimeout(async () => {
        let items = [];
        try {
          const res = await fetch(`/api/v1/catalog/suggest?limit=3&text=${encodeURIComponent(text.slice(0, 500))}`, { credentials: "same-origin" });
          if (res.ok) items = (await res.json()).items;
        } catch (e) { /* offline: the search box still works */ }
        chips.replaceChildren(...items.map((s) => {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "chip secondary";
          b.dataset.code = s.code;
          b.title = s.reason;
          b.textContent = s.name;
          b.addEventListener("click", () => choose(s.code, s.name));
          return b;
        }));
        if (items.length) chips.prepend(Object.assign(document.createElement("span"), { textContent: t("推荐类别：", "Suggested: ") }));
      }, 300);
    });
  }

  cityloop.catPicker = attach;
})();
