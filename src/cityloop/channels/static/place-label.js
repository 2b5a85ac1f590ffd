// 逆地理编码: under a map, the place a pin stands at ("您选择的位置：永阳路 88号附近"), from /api/v1/geo/reverse.
(function () {
  let asked = 0;  // only the answer to the latest pin is shown
  cityloop.showPlace = async function (el, lon, lat) {
    const t = cityloop.t, mine = ++asked;
    if (!el) return;
    el.textContent = t("正在查找位置…", "Looking up the place…");
    let text = t("附近没有已知的地名", "No known place nearby");
    try {
      const res = await fetch(`/api/v1/geo/reverse?lon=${lon.toFixed(6)}&lat=${lat.toFixed(6)}`, { credentials: "same-origin" });
      if (res.ok) { const p = await res.json(); text = t(`您选择的位置：${p.name}`, `You chose: ${p.name}`); }
    } catch (err) { text = ""; }
    if (mine === asked) el.textContent = text;
  };
})();
