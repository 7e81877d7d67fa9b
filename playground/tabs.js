// Links on the home page switch tabs in place; clicking a tab keeps ?tab= in the address bar,
// so a copied link opens the same tab. A concept's tab computes when it is first shown: its
// hidden opener button (playground/opening.py) is clicked once, on the first visit.
const HOST_TABS = ["home", "plugins"];

const opened = new Set();
const WATCH_MS = 60000; // a tab that never appears (a mistyped link) stops being watched

// Click a tab's opener once its panel is on screen: values its first events set then land in
// mounted controls (set before, a mounting tab could fire its own events with its defaults).
function openTab(tab) {
  if (opened.has(tab) || HOST_TABS.includes(tab)) return;
  opened.add(tab);
  const ready = () =>
    document.getElementById(`tab-${tab}`)?.checkVisibility() &&
    document.getElementById(`pg-open-${tab}`);
  if (ready()) return ready().click();
  const watch = new MutationObserver(() => {
    if (!ready()) return;
    watch.disconnect();
    ready().click();
  });
  watch.observe(document.documentElement, { childList: true, subtree: true, attributes: true });
  setTimeout(() => watch.disconnect(), WATCH_MS);
}

// A deep link's tab opens once Gradio has rendered and selected it.
const linked = new URLSearchParams(location.search).get("tab");
if (linked) openTab(linked);

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-tab]");
  const tabButton = event.target.closest("button[id^='tab-'][id$='-button']");
  let tab = null;
  if (link) {
    const button = document.getElementById(`tab-${link.dataset.tab}-button`);
    if (!button) return; // the link's own ?tab= address still opens it
    event.preventDefault();
    button.click();
    window.scrollTo({ top: 0 });
    tab = link.dataset.tab;
  } else if (tabButton) {
    tab = tabButton.id.slice(4, -7);
  }
  if (!tab) return;
  history.replaceState(null, "", `?tab=${encodeURIComponent(tab)}`);
  openTab(tab);
});
