// Links on the home page switch tabs in place; clicking a tab keeps ?tab= in the address bar,
// so a copied link opens the same tab. Tabs that do not fit the bar sit in Gradio's "More
// tabs" menu, whose buttons carry only their title: the home page's cards map titles to ids.
const HOST_TABS = { Home: "home", Plugins: "plugins" };

function tabByTitle(title) {
  const card = [...document.querySelectorAll("a[data-tab]")].find(
    (a) => a.dataset.title === title,
  );
  return card ? card.dataset.tab : HOST_TABS[title] || null;
}

function overflowButton(title) {
  return [...document.querySelectorAll(".overflow-dropdown button")].find(
    (b) => b.innerText.trim() === title,
  );
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-tab]");
  const tabButton = event.target.closest("button[id^='tab-'][id$='-button']");
  const moreButton = event.target.closest(".overflow-dropdown button");
  let tab = null;
  if (link) {
    const button =
      document.getElementById(`tab-${link.dataset.tab}-button`) ||
      overflowButton(link.dataset.title);
    if (!button) return; // the link's own ?tab= address still opens it
    event.preventDefault();
    button.click();
    window.scrollTo({ top: 0 });
    tab = link.dataset.tab;
  } else if (tabButton) {
    tab = tabButton.id.slice(4, -7);
  } else if (moreButton) {
    tab = tabByTitle(moreButton.innerText.trim());
  }
  if (tab) history.replaceState(null, "", `?tab=${encodeURIComponent(tab)}`);
});
