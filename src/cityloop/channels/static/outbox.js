// The phone apps' offline outbox (城管通, 部门处置通): writes go into IndexedDB first and are sent from there — now
// when online, else when the phone is back online — each with its own Idempotency-Key, kept across resends, so a
// resend after a lost answer never acts twice. cityloop.outbox(dbName, options) returns the queue.
(function () {
  const newKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

  // options: stores (extra object stores of the same database), accepted(item, res) (is this answer a success?),
  // onSent(item, data), onFailed(item, message), onAuth() (logged out), onChange() (the queue changed).
  window.cityloop.outbox = function (dbName, options) {
    const opts = { stores: [], accepted: (item, res) => res.ok, onSent() {}, onFailed() {}, onAuth() {}, onChange() {},
                   ...options };
    const ready = new Promise((resolve, reject) => {
      const open = indexedDB.open(dbName, 1);
      open.onupgradeneeded = () => {
        for (const name of ["outbox", ...opts.stores]) open.result.createObjectStore(name, { keyPath: "id", autoIncrement: true });
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    async function store(name, mode, fn) {
      const db = await ready;
      return new Promise((resolve, reject) => {
        const tx = db.transaction(name, mode);
        const req = fn(tx.objectStore(name));
        tx.oncomplete = () => resolve(req && req.result);
        tx.onerror = () => reject(tx.error);
      });
    }
    const all = (name = "outbox") => store(name, "readonly", (s) => s.getAll());
    const put = (name, item) => store(name, "readwrite", (s) => s.put(item));
    const remove = (name, id) => store(name, "readwrite", (s) => s.delete(id));

    let flushing = false;
    // Sends everything queued in order; true when nothing is left waiting (failed items stay until deleted).
    async function flush() {
      if (flushing) return false;
      flushing = true;
      try {
        for (const item of await all()) {
          if (item.failed) continue;
          const body = new FormData();
          body.append("data", item.data);
          for (const f of item.files) body.append(f.field || "photos", f.blob, f.name);
          let res;
          try {
            res = await fetch(item.url, { method: "POST", body, credentials: "same-origin",
              headers: { "X-CSRF-Token": cityloop.csrf(), "Idempotency-Key": item.key } });
          } catch (e) {
            return false; // offline: try again later
          }
          if (opts.accepted(item, res)) {
            const data = await res.json().catch(() => ({}));
            await remove("outbox", item.id);
            opts.onSent(item, data);
          } else if (res.status === 401 || res.status >= 500) {
            if (res.status === 401) opts.onAuth();
            return false;
          } else {
            const data = await res.json().catch(() => ({}));
            await put("outbox", { ...item, failed: true, error: data.detail || res.statusText });
            opts.onFailed(item, data.detail || res.statusText);
          }
        }
        return (await all()).filter((i) => !i.failed).length === 0;
      } finally {
        flushing = false;
        opts.onChange();
      }
    }

    // Queues a write ({url, data: JSON text, files: [{name, blob, field}], label, ...}) and tries to send it now;
    // true when it was sent.
    async function enqueue(item) {
      await put("outbox", { ...item, key: newKey(), created: new Date().toISOString(), failed: false, error: null });
      opts.onChange();
      return flush();
    }

    window.addEventListener("online", () => flush());
    setInterval(() => { if (navigator.onLine) flush(); }, 15000);
    return { all, put, remove, enqueue, flush, drop: async (id) => { await remove("outbox", id); opts.onChange(); } };
  };
})();
