// The assessment console: a score chart above each ranking; publishing a period (after a confirmation) freezes it.
(function () {
  for (const el of document.querySelectorAll(".score-chart")) {
    const names = JSON.parse(el.dataset.rows), scores = JSON.parse(el.dataset.scores);
    echarts.init(el, null, { renderer: "canvas" }).setOption({
      animation: false,
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100 },
      yAxis: { type: "category", inverse: true, data: names, axisLabel: { width: 160, overflow: "truncate" } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      series: [{ type: "bar", name: el.dataset.title, data: scores, itemStyle: { color: "#0b5cad" },
                 label: { show: true, position: "right", formatter: (p) => p.value.toFixed(1) } }],
    });
  }
  const btn = document.getElementById("publish");
  if (btn) btn.addEventListener("click", async () => {
    if (!confirm(cityloop.t("发布后本期结果将冻结，确定发布？", "Publishing freezes this period's figures. Publish?"))) return;
    try { await cityloop.api("POST", `/api/v1/assessment/periods/${btn.dataset.period}/publish`, {}); location.reload(); }
    catch (e) { alert(e.message); }
  });
})();
