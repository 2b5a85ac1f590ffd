// The assessment console: publishing a period (after a confirmation) freezes its figures.
(function () {
  const btn = document.getElementById("publish");
  if (btn) btn.addEventListener("click", async () => {
    if (!confirm(cityloop.t("发布后本期结果将冻结，确定发布？", "Publishing freezes this period's figures. Publish?"))) return;
    try { await cityloop.api("POST", `/api/v1/assessment/periods/${btn.dataset.period}/publish`, {}); location.reload(); }
    catch (e) { alert(e.message); }
  });
})();
