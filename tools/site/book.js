// cnnlit book: the theme toggle, the phone menu and the offline search (Pagefind).
(function () {
  const root = document.documentElement;
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const stored = () => { try { return localStorage.getItem('cnnlit-theme'); } catch (e) { return null; } };
  function show(theme) {
    root.dataset.theme = theme;
    const b = document.querySelector('.theme-toggle');
    if (b) {
      b.setAttribute('aria-pressed', String(theme === 'dark'));
      b.title = theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme';
    }
  }
  // follow the system setting until the reader chooses with the toggle
  dark.addEventListener('change', (e) => { if (!stored()) show(e.matches ? 'dark' : 'light'); });

  document.addEventListener('DOMContentLoaded', () => {
    show(root.dataset.theme || (dark.matches ? 'dark' : 'light'));
    document.querySelector('.theme-toggle')?.addEventListener('click', () => {
      const next = root.dataset.theme === 'dark' ? 'light' : 'dark';
      try { localStorage.setItem('cnnlit-theme', next); } catch (e) { /* private mode: this page only */ }
      show(next);
    });

    const menu = document.querySelector('.menu-toggle');
    const sidebar = document.querySelector('.sidebar');
    menu?.addEventListener('click', () => {
      const open = sidebar.classList.toggle('open');
      menu.setAttribute('aria-expanded', String(open));
    });

    // Search: Pagefind's index in pagefind/ (written by tools/build_book.py). It is loaded on
    // first use; over file:// browsers refuse to load it, so the box says so.
    const input = document.getElementById('search-input');
    const results = document.getElementById('search-results');
    if (!input || !results) return;
    let pagefind = null;
    let seq = 0;
    async function load() {
      if (!pagefind) {
        pagefind = await import(new URL('../pagefind/pagefind.js', document.currentScript?.src || document.querySelector('script[src$="book.js"]').src).href);
        await pagefind.options({ excerptLength: 18 });
      }
      return pagefind;
    }
    async function search(q) {
      const mine = ++seq;
      if (!q.trim()) { results.innerHTML = ''; results.dataset.state = 'empty'; return; }
      results.dataset.state = 'searching';
      let pf;
      try { pf = await load(); } catch (e) {
        results.innerHTML = '<p class="search-note">Search needs the book served over http (see the README).</p>';
        results.dataset.state = 'error';
        return;
      }
      const found = await pf.search(q);
      const data = await Promise.all(found.results.slice(0, 8).map((r) => r.data()));
      if (mine !== seq) return; // a newer query is on its way
      // Pagefind's urls start at the site's root and drop "index.html"; the pages are flat files
      // with relative links, so the book works from any folder.
      const href = (url) => url.replace(/^\/+/, '').replace(/(^|\/)$/, '$1index.html');
      results.innerHTML = data.length
        ? `<ol>${data.map((d) => `<li><a href="${href(d.url)}">${d.meta.title || d.url}</a><p>${d.excerpt}</p></li>`).join('')}</ol>`
        : '<p class="search-note">No page matches.</p>';
      results.dataset.state = 'done';
    }
    input.addEventListener('input', () => search(input.value));
    input.addEventListener('focus', () => { load().catch(() => {}); }, { once: true });
  });
})();
