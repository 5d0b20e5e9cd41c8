// Shows the visitor's own limits and use so far (a signed-in key's, else the address's).
(function () {
  // Words that arrive as data (window and scope names), listed so the catalogue has them.
  const WORDS = [t("minute"), t("day"), t("public"), t("business"), t("government"), t("admin"), t("key"), t("ip")];
  void WORDS;
  const target = document.getElementById("usage");
  if (!target) return;
  fetch("/api/usage", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((usage) => {
      const parts = Object.entries(usage.windows || {}).map(
        ([name, w]) =>
          t("{used} of {limit} requests this {window} (resets in {seconds} s)", {
            used: w.used, limit: w.limit, window: t(name), seconds: w.reset_seconds })
      );
      target.textContent =
        t("You are calling as {scope} (by {caller}): ", { scope: t(usage.scope), caller: t(usage.caller) }) +
        (parts.length ? parts.join(t("; ")) : t("no limits apply")) +
        (usage.shared ? t(".") : t(" (counted by this server only)."));
    })
    .catch(() => {
      target.textContent = t("Your usage could not be read just now.");
    });
})();
