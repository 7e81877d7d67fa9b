// Links on the home page switch tabs in place; clicking a tab keeps ?tab= in the address bar,
// so a copied link opens the same tab.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-tab]");
  const tabButton = event.target.closest("button[id^='tab-'][id$='-button']");
  let tab = null;
  if (link) {
    const button = document.getElementById(`tab-${link.dataset.tab}-button`);
    if (!button) return;
    event.preventDefault();
    button.click();
    window.scrollTo({ top: 0 });
    tab = link.dataset.tab;
  } else if (tabButton) {
    tab = tabButton.id.slice(4, -7);
  }
  if (tab) history.replaceState(null, "", `?tab=${encodeURIComponent(tab)}`);
});
