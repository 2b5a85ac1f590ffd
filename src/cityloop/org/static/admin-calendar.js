// The working-day calendar page: one day's form saves through the SLA API and reloads.
document.getElementById("calendar-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target, day = f.day.value;
  try {
    await cityloop.api("PUT", `/api/v1/sla/calendar/${day}`, { day, is_workday: f.is_workday.checked, note: f.note.value || null });
    location.reload();
  } catch (err) { document.querySelector(".message").textContent = err.message; }
});
