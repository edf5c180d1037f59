// The printable quarantine page: its "Imprimer" button (no inline script under the CSP).
document.querySelectorAll("[data-action='print']").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
