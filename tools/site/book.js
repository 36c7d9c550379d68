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

    // An equation's number beside a formula too wide for the column would be printed over
    // it: then the number goes below the formula (class tag-below), on this screen only.
    function placeTags() {
      document.querySelectorAll('.math-display').forEach((d) => {
        const tag = d.querySelector('.katex-html > .tag');
        if (!tag) return;
        d.classList.remove('tag-below');
        const t = tag.getBoundingClientRect();
        const hit = [...d.querySelectorAll('.katex-html > .base')].some((b) => {
          const r = b.getBoundingClientRect();
          return r.width > 0 && r.right > t.left + 1 && r.left < t.right - 1 && r.bottom > t.top && r.top < t.bottom;
        });
        if (hit) d.classList.add('tag-below');
      });
      document.documentElement.dataset.tagsPlaced = String(Date.now());
    }
    placeTags();
    document.fonts?.ready.then(placeTags);
    let resizeTimer = null;
    window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(placeTags, 100); });

    // A link to a folded solution (or into one) opens it: #sol-... or an anchor inside it.
    function reveal() {
      const id = decodeURIComponent(location.hash.slice(1));
      const target = id && document.getElementById(id);
      if (!target) return;
      for (let d = target.closest('details'); d; d = d.parentElement?.closest('details')) d.open = true;
      target.scrollIntoView();
    }
    window.addEventListener('hashchange', reveal);
    reveal();

    // Copy buttons on code cells: the cell's code as plain text.
    document.querySelectorAll('pre.code').forEach((pre) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'copy';
      b.textContent = 'Copy';
      b.setAttribute('aria-label', 'Copy the code');
      b.setAttribute('data-pagefind-ignore', '');
      b.addEventListener('click', async () => {
        const code = pre.querySelector('code')?.textContent ?? pre.textContent;  // also when folded
        try {
          await navigator.clipboard.writeText(code);
          b.textContent = 'Copied';
        } catch (e) {
          const r = document.createRange(); r.selectNodeContents(pre);
          const sel = getSelection(); sel.removeAllRanges(); sel.addRange(r);
          b.textContent = 'Selected: press Ctrl+C';
        }
        b.dataset.copied = code;
        setTimeout(() => { b.textContent = 'Copy'; }, 2000);
      });
      const box = document.createElement('div');
      box.className = 'code-box';
      pre.replaceWith(box);
      box.append(pre, b);
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
      const href = (url) => {
        const [page, hash] = url.split('#');
        const file = page.replace(/^\/+/, '').replace(/(^|\/)$/, '$1index.html');
        return hash ? `${file}#${hash}` : file;
      };
      // a result opens the section that matches (Pagefind's sub-results carry its anchor)
      const item = (d) => {
        const sub = (d.sub_results || []).find((r) => r.url && r.url.includes('#'));
        const url = href(sub ? sub.url : d.url);
        const where = sub && sub.title && sub.title !== d.meta.title ? ` <span class="search-section">› ${sub.title}</span>` : '';
        return `<li><a href="${url}">${d.meta.title || d.url}${where}</a><p>${sub ? sub.excerpt : d.excerpt}</p></li>`;
      };
      results.innerHTML = data.length
        ? `<ol>${data.map(item).join('')}</ol>`
        : '<p class="search-note">No page matches.</p>';
      results.dataset.state = 'done';
    }
    input.addEventListener('input', () => search(input.value));
    input.addEventListener('focus', () => { load().catch(() => {}); }, { once: true });
  });
})();
