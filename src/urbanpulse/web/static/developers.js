// Shows the visitor's own limits and use so far (a signed-in key's, else the address's).
(function () {
  const target = document.getElementById("usage");
  if (!target) return;
  fetch("/api/usage", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((usage) => {
      const parts = Object.entries(usage.windows || {}).map(
        ([name, w]) => `${w.used} of ${w.limit} requests this ${name} (resets in ${w.reset_seconds} s)`
      );
      target.textContent =
        `You are calling as ${usage.scope} (by ${usage.caller}): ` +
        (parts.length ? parts.join("; ") : "no limits apply") +
        (usage.shared ? "." : " (counted by this server only).");
    })
    .catch(() => {
      target.textContent = "Your usage could not be read just now.";
    });
})();
