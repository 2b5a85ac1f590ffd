// The one rating a reporter may give after the case is closed, and looking up another tracking code.
(function () {
  const lookup = document.getElementById("lookup");
  lookup.addEventListener("submit", (e) => {
    e.preventDefault();
    location.href = "/m/report/status/" + encodeURIComponent(lookup.code.value.trim());
  });
  const box = document.getElementById("rate");
  if (!box) return;
  const code = document.getElementById("status").dataset.code;
  box.addEventListener("click", async (e) => {
    const rating = e.target.dataset && e.target.dataset.rating;
    if (!rating) return;
    box.querySelectorAll("button").forEach((b) => (b.disabled = true));
    const res = await fetch(`/api/v1/channels/public/reports/${code}/rating`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rating }),
    });
    const data = await res.json();
    document.getElementById("rate-msg").textContent = res.ok
      ? cityloop.t("感谢您的评价：", "Thank you: ") + rating : data.detail;
    if (res.ok) setTimeout(() => location.reload(), 600);
  });
})();
