// Render mystmd's processed site content (_build/site: config.json + content/*.json
// + public/) into a static HTML book. Math -> KaTeX HTML, code -> highlight.js,
// everything else via myst-to-html's mdast->hast handlers.
// Usage: node render.mjs <site-content-dir> <out-dir>
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unified } from 'unified';
import rehypeStringify from 'rehype-stringify';
import { all } from 'mdast-util-to-hast';
import { mystToHast } from 'myst-to-html';
import { visit } from 'unist-util-visit';
import katex from 'katex';
import hljs from 'highlight.js';
import { joinSolutionGates } from './solution-gates.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NM = path.join(HERE, 'node_modules');
const [siteDir, outDir] = process.argv.slice(2);
const projectRoot = siteDir ? path.resolve(siteDir, '..', '..') : '.'; // <root>/_build/site
if (!siteDir || !outDir) throw new Error('usage: node render.mjs <_build/site> <out-dir>');

const errors = [];
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const raw = (value) => ({ type: 'raw', value });
const local = (url) => String(url).replace(/^\//, ''); // "/abc.png" -> "abc.png" (public/ is copied to out root)
// mystmd page urls: "/" (index page), "/slug", optionally with "#id"; pages are flat files.
function pageHref(url) {
  const [p, hash] = String(url).split('#');
  const slug = p.replace(/^\/+|\/+$/g, '');
  return `${slug || 'index'}.html${hash ? `#${hash}` : ''}`;
}

// ---------- site structure ----------
const config = JSON.parse(fs.readFileSync(path.join(siteDir, 'config.json'), 'utf8'));
if (config.projects.length !== 1) throw new Error('expected exactly one project in config.json');
const project = config.projects[0];
const slugs = [project.index, ...project.pages.filter((p) => p.slug).map((p) => p.slug)];
const pages = slugs.map((slug) => {
  const data = JSON.parse(fs.readFileSync(path.join(siteDir, 'content', `${slug}.json`), 'utf8'));
  return { slug, data, href: slug === project.index ? 'index.html' : `${slug}.html`, title: data.frontmatter.title || slug, location: data.location };
});

// ---------- citations ----------
// mystmd resolves {cite}`key` against references.bib page by page: each page's JSON has
// references.cite.data[key] = { html, url, doi, enumerator } for the works it cites, and
// `cite` nodes (inside a `citeGroup` for {cite:p}) carrying the label. The book lists the
// union of all pages' works on one page (the one whose text holds a `{div}` of class
// "bibliography"), sorted by their formatted text (first author's surname), and every
// citation links to its entry there.
// The list and its labels come from tools/bibliography.py (_build/site/bibliography.json), which
// tools/build_pdf.py uses too: one order and one set of letters (1998a, 1998b) everywhere.
const bibFile = path.join(siteDir, 'bibliography.json');
if (!fs.existsSync(bibFile)) throw new Error(`${bibFile} is missing: run tools/bibliography.py (tools/build_book.py does)`);
const bibData = JSON.parse(fs.readFileSync(bibFile, 'utf8'));
const bibliography = new Map(bibData.order.map((k) => [k, bibData.entries[k]]));
const plainText = (html) => String(html).replace(/<[^>]+>/g, '').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
const isBibliographyDiv = (node) => node.type === 'div' && String(node.class || '').split(/\s+/).includes('bibliography');
const bibPages = pages.filter((p) => { let found = false; visit(p.data.mdast, 'div', (n) => { found ||= isBibliographyDiv(n); }); return found; });
if (bibPages.length > 1) errors.push(`more than one page holds the bibliography: ${bibPages.map((p) => p.slug)}`);
const bibHref = bibPages.length ? bibPages[0].href : null;
const citeId = (key) => `cite-${String(key).replace(/[^\w-]/g, '-')}`;
const bibOrder = bibData.order;
const nodeText = (n) => n.value ?? (n.children || []).map(nodeText).join('');
const yearSuffix = new Map(bibData.order.filter((k) => bibData.entries[k].letter).map((k) => [k, bibData.entries[k].letter]));
function withYearSuffix(children, key) {
  const letter = yearSuffix.get(key);
  if (!letter) return children;
  const copy = structuredClone(children);
  const texts = [];
  visit({ type: 'root', children: copy }, 'text', (t) => { texts.push(t); });
  const last = texts.reverse().find((t) => /\d{4}/.test(t.value));
  if (last) last.value = last.value.replace(/(\d{4})(?!.*\d{4})/, `$1${letter}`);
  return copy;
}
function bibliographyHtml() {
  const item = (key) => {
    return `<li id="${esc(citeId(key))}">${bibliography.get(key).html}</li>`;
  };
  return `<ul class="bibliography">${bibOrder.map(item).join('')}</ul>`;
}

// ---------- figures made by code cells ----------
// A figure `:::{figure} #cell-label` embeds the outputs of the labelled code cell (mystmd
// copies them into the figure's `container`, with source.label = the cell's label). The
// cell keeps its code where it is, but its outputs are shown only in the figure.
function embeddedCells(page) {
  const labels = new Set();
  visit(page.data.mdast, 'container', (node) => {
    if (node.source?.label && (node.source.slug ?? page.slug) === page.slug) labels.add(node.source.label);
  });
  return labels;
}
// A figure must show something: `:::{figure} #no-such-cell` builds without a word from mystmd
// (it leaves an unresolved `_lift` node and an empty figure), so it fails here.
function checkFigures(tree, page) {
  visit(tree, 'container', (node) => {
    if (node.kind !== 'figure') return;
    let shows = false;
    visit(node, (n) => { shows ||= n.type === 'image' || (n.type === 'output' && !!n.jupyter_data); });
    if (!shows) {
      const what = node.source?.label ? `its embed "#${node.source.label}" resolves to no cell output` : 'it has no image';
      errors.push(`${page.slug}: figure "${node.label || node.identifier || '(no label)'}" shows nothing: ${what}`);
    }
  });
  visit(tree, '_lift', (node) => errors.push(`${page.slug}: unresolved embed "${node.source?.label ?? '?'}"`));
}
function dropEmbeddedOutputs(tree, page) {
  const labels = embeddedCells(page);
  if (!labels.size) return;
  visit(tree, 'block', (node) => {
    if (labels.has(node.label) || labels.has(node.identifier)) node.children = node.children.filter((c) => c.type !== 'outputs');
  });
}

// ---------- exercises and solutions ----------
// joinSolutionGates (tools/site/solution-gates.mjs, shared with the PDF) makes each gated pair
// one `solution` node, so that it folds as one "Show solution" block.
// The exercise a solution belongs to: the reference in its title ("Solution to Exercise 5.3").
function solutionTarget(sol) {
  const title = (sol.children || []).find((c) => c.type === 'admonitionTitle');
  let target = null;
  if (title) visit(title, 'crossReference', (x) => { target ||= x; });
  return target;
}
function exerciseSolutions(tree) {
  const map = new Map(); // exercise identifier -> solution node
  visit(tree, 'solution', (sol) => {
    const ex = solutionTarget(sol);
    if (ex) map.set(ex.identifier, sol);
  });
  return map;
}

// ---------- cells folded behind "show code" ----------
// A code cell tagged `fold` (it only imports or only asserts; tools/fold_cells.py tags them)
// shows its outputs, but its code only on demand.
const FOLD_TAG = 'fold';
const tagsOf = (block) => block?.data?.tags || block?.data?.metadata?.tags || [];
function foldCells(tree) {
  visit(tree, 'block', (block) => {
    if (block.kind !== 'notebook-code' || !tagsOf(block).includes(FOLD_TAG)) return;
    block.class = 'folded';
    block.children = block.children.map((c) => (c.type === 'code'
      ? { type: 'details', class: 'fold-code', children: [{ type: 'summary', children: [{ type: 'text', value: 'show code' }] }, c] }
      : c));
  });
}

// ---------- equation references inside parentheses ----------
// "([](#eq-n8))" would print "((8))": a reference to an equation inside parentheses that the
// text opens drops its own.
function unparenthesizeEquationRefs(tree) {
  visit(tree, (node) => {
    const kids = node.children;
    if (!Array.isArray(kids)) return;
    let depth = 0;
    for (const k of kids) {
      if (k.type === 'text') {
        for (const ch of k.value) depth = Math.max(0, depth + (ch === '(' ? 1 : ch === ')' ? -1 : 0));
      } else if (k.type === 'crossReference' && k.kind === 'equation' && depth > 0) {
        const texts = [];
        visit(k, 'text', (t) => { texts.push(t); });
        const all = texts.map((t) => t.value).join('');
        if (texts.length && /^\(.*\)$/s.test(all)) {
          texts[0].value = texts[0].value.replace(/^\(/, '');
          texts[texts.length - 1].value = texts[texts.length - 1].value.replace(/\)$/, '');
        } else if (texts.length === 1 && /^\([^()]*\)/.test(all)) { // "[(5), corrected](#eq-...)"
          texts[0].value = all.replace(/^\(([^()]*)\)/, '$1');
        }
      }
    }
  });
}

// ---------- numbered references keep their number on the line ----------
// The chapters spell out a reference's text, "[Figure 2.3](#fig-...)", so that JupyterLab shows
// what the site shows (tools/link_text.py); mystmd's own text puts a no-break space there.
function glueReferenceNumbers(tree) {
  visit(tree, 'crossReference', (node) => {
    visit(node, 'text', (t) => {
      t.value = t.value.replace(/^(Figure|Table|Exercise|Solution to Exercise) (?=[A-Z0-9]+\.\d+$)/, '$1\u00a0');
    });
  });
}

// ---------- figure alt text from captions ----------
function captionText(container) {
  let text = '';
  visit(container, 'caption', (c) => { text ||= nodeText(c).replace(/\s+/g, ' ').trim(); });
  // the TeX of inline math, made readable: "5 \times 5" -> "5 × 5"
  return text.replace(/\\times/g, '×').replace(/\\[,;!]/g, ' ').replace(/\\([a-zA-Z]+)/g, '$1').replace(/[{}]/g, '')
    .replace(/^(Figure|Table)\s*([\w.]+):\s*/, '$1 $2: ');
}

// ---------- equation previews ----------
// Every labelled display of the book: its TeX, so that a reference to it can show the formula
// on hover (as a citation shows its entry).
const equations = new Map();
for (const p of pages) {
  visit(p.data.mdast, 'math', (n) => { if (n.identifier) equations.set(n.identifier, n.value); });
}
function equationPreview(id, page) {
  const tex = equations.get(id);
  if (!tex) return null;
  const html = renderTex(tex.replace(/\\tag\*?\{[^{}]*\}/g, '').replace(/\\label\{[^{}]*\}/g, ''), true, page);
  return raw(`<span class="eq-preview" role="tooltip" data-pagefind-ignore>${html}</span>`);
}

// ---------- handlers ----------
function katexMacros(fm) {
  return Object.fromEntries(Object.entries(fm.math || {}).map(([k, v]) => [k, typeof v === 'string' ? v : v.macro]));
}
function renderTex(tex, displayMode, page) {
  try {
    // MathML beside the HTML, for screen readers; the search index skips it (it repeats the
    // formula and carries the TeX source, which would fill the result excerpts)
    return katex.renderToString(tex, { displayMode, throwOnError: true, macros: katexMacros(page.data.frontmatter), strict: 'warn', output: 'htmlAndMathml' })
      .replace(/<span class="katex-mathml">/g, '<span class="katex-mathml" data-pagefind-ignore>');
  } catch (e) {
    errors.push(`${page.slug}: KaTeX: ${e.message}`);
    return `<code class="katex-error">${esc(tex)}</code>`;
  }
}

function outputHtml(out, page) {
  const d = out.jupyter_data || {};
  const text = (t) => (Array.isArray(t) ? t.join('') : String(t ?? ''));
  if (d.output_type === 'stream') return `<pre class="output stream ${esc(d.name)}">${esc(text(d.text))}</pre>`;
  if (d.output_type === 'error') {
    return `<pre class="output error">${esc(text(d.traceback?.join('\n') ?? `${d.ename}: ${d.evalue}`).replace(/\x1b\[[0-9;]*m/g, ''))}</pre>`;
  }
  const data = d.data || {};
  const content = (m) => {
    const v = data[m];
    if (v.content != null) return v.content;
    return fs.readFileSync(path.join(siteDir, 'public', local(v.path)), 'utf8');
  };
  for (const m of ['image/svg+xml', 'image/png', 'image/jpeg', 'image/gif']) {
    if (data[m]?.path) {
      // the caption of the figure it is in; matplotlib's "<Figure size 900x190 with 6 Axes>" is no description
      const plain = data['text/plain']?.content ?? '';
      const alt = out.alt || (/^<Figure size/.test(plain) || !plain ? 'A figure drawn by the code cell above' : plain);
      return `<figure class="output image"><img src="${esc(local(data[m].path))}" alt="${esc(alt)}"></figure>`;
    }
  }
  if (data['text/html']) return `<div class="output html">${content('text/html')}</div>`;
  if (data['text/latex']) return `<div class="output latex">${renderTex(content('text/latex').replace(/^\$\$?|\$\$?$/g, ''), true, page)}</div>`;
  if (data['text/plain']) return `<pre class="output text">${esc(content('text/plain'))}</pre>`;
  errors.push(`${page.slug}: output with no renderable mime type: ${Object.keys(data)}`);
  return '';
}

function handlers(page) {
  return {
    math: (h, node) => {
      let tex = node.value;
      if (node.enumerator && !/\\tag\*?\{/.test(tex)) {
        console.warn(`render: ${page.slug}: equation "${node.label}" has no \\tag; numbered (${node.enumerator}) by mystmd's page counter`);
        tex += `\n\\tag{${node.enumerator}}`;
      }
      return raw(`<div class="math-display" id="${esc(node.html_id || node.identifier || '')}">${renderTex(tex, true, page)}</div>`);
    },
    inlineMath: (h, node) => raw(renderTex(node.value, false, page)),
    code: (h, node) => {
      const lang = node.lang && hljs.getLanguage(node.lang) ? node.lang : null;
      const body = lang ? hljs.highlight(node.value || '', { language: lang }).value : esc(node.value || '');
      return raw(`<pre class="code"><code class="hljs${lang ? ` language-${lang}` : ''}">${body}</code></pre>`);
    },
    outputs: (h, node) => raw(`<div class="outputs">${node.children.map((o) => outputHtml(o, page)).join('')}</div>`),
    block: (h, node) => h(node, 'div', { class: ['block', node.kind, node.class].filter(Boolean).join(' '), id: node.html_id }, all(h, node)),
    heading: (h, node) => {
      const id = node.html_id || node.identifier || undefined;
      const anchor = id && node.depth > 1 ? [raw(`<a class="anchor" href="#${esc(id)}" aria-label="Link to this section" data-pagefind-ignore>#</a>`)] : [];
      return h(node, `h${node.depth}`, { id }, [...all(h, node), ...anchor]);
    },
    crossReference: (h, node) => {
      if (!node.resolved) errors.push(`${page.slug}: unresolved reference "${node.identifier}"`);
      const id = node.html_id || node.identifier;
      const href = node.remote && node.url ? pageHref(`${node.url}#${id}`) : `#${id}`;
      const preview = node.kind === 'equation' ? equationPreview(node.identifier, page) : null;
      if (preview) return h(node, 'a', { href, class: 'xref eq' }, [...all(h, node), preview]);
      return h(node, 'a', { href, class: 'xref' }, all(h, node));
    },
    // a figure or table: its kind as a class (kind-figure, kind-table), for styles and tests
    container: (h, node) => {
      const alt = node.kind === 'figure' ? captionText(node) : '';
      if (alt) {
        visit(node, 'output', (o) => { o.alt ||= alt; });
        visit(node, 'image', (im) => { im.alt ||= alt; });
      }
      return h(node, 'figure', {
      id: node.identifier || node.label || undefined,
      class: [node.enumerated !== false ? 'numbered' : null, node.kind ? `kind-${node.kind}` : null, node.class].filter(Boolean).join(' ') || undefined,
    }, all(h, node));
    },
    // "Figure 3.2:" before a caption (mystmd fills the children from the template)
    captionNumber: (h, node) => {
      if (!node.enumerator) errors.push(`${page.slug}: ${node.kind || "container"} "${node.identifier}" has no number`);
      return h(node, 'span', { class: 'caption-number' }, [...all(h, node), { type: 'text', value: ' ' }]);
    },
    cite: (h, node) => {
      if (!bibliography.has(node.label)) errors.push(`${page.slug}: citation "${node.label}" is not in the bibliography`);
      if (!bibHref) errors.push(`${page.slug}: citation "${node.label}" but no page holds the bibliography`);
      const entry = bibliography.get(node.label);
      return h(node, 'a', { class: 'cite', href: `${bibHref}#${citeId(node.label)}`, title: entry ? plainText(entry.html) : undefined },
        all(h, { ...node, children: withYearSuffix(node.children || [], node.label) }));
    },
    // {cite:p}`a,b` -> "(A, 2006; B, 1998)"; a narrative group -> "A (2006), B (1998)"
    citeGroup: (h, node) => {
      const sep = node.kind === 'parenthetical' ? '; ' : ', ';
      const parts = node.children.flatMap((c, i) => (i ? [{ type: 'text', value: sep }, c] : [c]));
      const inner = all(h, { ...node, children: parts });
      return h(node, 'span', { class: 'cite-group' }, node.kind === 'parenthetical'
        ? [{ type: 'text', value: '(' }, ...inner, { type: 'text', value: ')' }] : inner);
    },
    image: (h, node) => h(node, 'img', { src: local(node.url), alt: node.alt, class: node.class, width: node.width }),
    // mystmd turns simple inline math such as $10^{-9}$ into a `span` (text + superscript);
    // myst-to-html has no handler for it and would write a block-level <div> mid-sentence.
    span: (h, node) => h(node, 'span', { class: node.class, style: node.style }, all(h, node)),
    div: (h, node) => (isBibliographyDiv(node)
      ? raw(`<div class="references">${bibliographyHtml()}</div>`)
      : h(node, 'div', { class: node.class, id: node.html_id || undefined }, all(h, node))),
    // "Exercise 5.3" (numbered per chapter by tools/site/myst-plugin.mjs), a heading so that
    // search results open it, and a link to its solution.
    exercise: (h, node) => {
      const id = node.html_id || node.identifier;
      const title = node.children?.[0]?.type === 'admonitionTitle' ? node.children[0] : null;
      const body = title ? node.children.slice(1) : node.children || [];
      const sol = exercisesSolved.get(node.identifier);
      const solId = sol ? sol.html_id || sol.identifier : null;
      const head = [raw(`<span class="exercise-number">Exercise ${esc(node.enumerator ?? '')}</span>`),
        ...(title ? [{ type: 'text', value: ' ' }, raw('<span class="exercise-name">'), ...all(h, title), raw('</span>')] : [])];
      if (!sol) errors.push(`${page.slug}: exercise "${node.identifier}" has no solution`);
      return h(node, 'section', { class: 'exercise', 'aria-labelledby': id ? `${id}-title` : undefined }, [
        h(node, 'h4', { class: 'exercise-title', id }, head),
        ...all(h, { ...node, children: body }),
        ...(solId ? [raw(`<p class="to-solution"><a class="solution-link" href="#${esc(solId)}" data-pagefind-ignore>Solution to Exercise ${esc(node.enumerator ?? '')} &#8595;</a></p>`)] : []),
      ]);
    },
    // folded by default, right after its exercise; a link back to it
    solution: (h, node) => {
      const id = node.html_id || node.identifier;
      const ex = solutionTarget(node);
      if (!ex) errors.push(`${page.slug}: solution "${node.identifier}" names no exercise`);
      const exId = ex ? ex.html_id || ex.identifier : '';
      const number = ex?.enumerator ?? '';
      const body = (node.children || []).filter((c) => c.type !== 'admonitionTitle');
      return h(node, 'details', { class: 'solution', id, 'data-exercise': exId || undefined }, [
        raw(`<summary><span class="show">Show solution</span><span class="hide">Hide solution</span> <span class="of">to Exercise ${esc(number)}</span></summary>`),
        raw('<div class="solution-body">'),
        ...all(h, { ...node, children: body }),
        raw(`<p class="to-exercise"><a class="exercise-link" href="#${esc(exId)}" data-pagefind-ignore>&#8593; Back to Exercise ${esc(number)}</a></p>`),
        raw('</div>'),
      ]);
    },
    // myst-to-html drops the children of these; keep them.
    details: (h, node) => h(node, 'details', { class: node.class, open: node.open || undefined }, all(h, node)),
    summary: (h, node) => h(node, 'summary', all(h, node)),
    embed: (h, node) => h(node, 'div', { class: 'embed' }, all(h, node)),
    include: (h, node) => h(node, 'div', { class: 'include' }, all(h, node)),
  };
}

// Keep inline math together with the punctuation right after it ("$(-a, a)$," must not
// break before the comma): wrap the pair in a no-wrap span.
function glueMathPunctuation(tree) {
  visit(tree, (node) => {
    const kids = node.children;
    if (!Array.isArray(kids) || node.class === 'nowrap') return;
    for (let i = 0; i + 1 < kids.length; i++) {
      const [a, b] = [kids[i], kids[i + 1]];
      if (a.type !== 'inlineMath' || b.type !== 'text') continue;
      const m = /^[,.;:!?)\]\u2019\u201d]+/.exec(b.value);
      if (!m) continue;
      kids.splice(i, 2, { type: 'span', class: 'nowrap', children: [a, { type: 'text', value: m[0] }] },
        ...(b.value.length > m[0].length ? [{ type: 'text', value: b.value.slice(m[0].length) }] : []));
    }
  });
}

// Plain text of a heading (for ids of pages without one) and its HTML (for the page toc).
function sectionList(page) {
  const out = [];
  visit(page.data.mdast, 'heading', (node) => {
    if (node.depth < 2 || node.depth > 3) return;
    const id = node.html_id || node.identifier;
    if (!id) return;
    out.push({ depth: node.depth, id, html: inlineHtml(node.children, page) });
  });
  return out;
}
function inlineHtml(children, page) {
  const tree = { type: 'root', children: structuredClone(children) };
  const pipe = unified().use(mystToHast, { handlers: handlers(page) }).use(rehypeStringify, { allowDangerousHtml: true });
  return pipe.stringify(pipe.runSync(tree));
}

// Rewrite links: internal page links -> "slug.html", static files -> copied public files.
function fixLinks(tree, page) {
  visit(tree, 'link', (node) => {
    if (node.internal) node.url = pageHref(node.url);
    else if (node.static) {
      node.url = local(node.url);
      if (/\.(md|ipynb)$/.test(node.urlSource || '')) errors.push(`${page.slug}: link to "${node.urlSource}" is not a page in the toc`);
    }
  });
}

let exercisesSolved = new Map();
function renderBody(page) {
  const tree = structuredClone(page.data.mdast);
  joinSolutionGates(tree, (message) => errors.push(`${page.slug}: ${message}`));
  exercisesSolved = exerciseSolutions(tree);
  checkFigures(tree, page);
  dropEmbeddedOutputs(tree, page);
  foldCells(tree);
  unparenthesizeEquationRefs(tree);
  glueReferenceNumbers(tree);
  fixLinks(tree, page);
  glueMathPunctuation(tree);
  const pipe = unified()
    .use(mystToHast, { allowDangerousHtml: true, handlers: handlers(page) })
    .use(rehypeStringify, { allowDangerousHtml: true });
  return pipe.stringify(pipe.runSync(tree))
    .replace(/<table\b/g, '<div class="table-scroll"><table').replace(/<\/table>/g, '</table></div>');
}

// ---------- layout ----------
// The theme is set before the page paints: the reader's choice (the toggle stores it), else the
// system setting. assets/book.js keeps it in step with the system while no choice is stored.
const THEME_BOOT = "try{var t=localStorage.getItem('cnnlit-theme');document.documentElement.dataset.theme=t||(matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light')}catch(e){document.documentElement.dataset.theme='light'}";
const PDF_NAME = 'cnnlit.pdf';
const hasPdf = fs.existsSync(path.join(outDir, PDF_NAME)); // tools/build_book.py builds it first
const mdSources = new Map(); // "sources/NN_name.md" -> the chapter's source file
// The current page's sections (h2, with its h3 nested) as a list under its sidebar entry.
function pageToc(page) {
  const secs = sectionList(page);
  if (!secs.length) return '';
  let html = '<ol class="sections">';
  let open = false; // an h3 list is open
  secs.forEach((s, i) => {
    if (s.depth === 2) {
      if (open) { html += '</ol>'; open = false; }
      if (i > 0) html += '</li>';
      html += `<li><a href="#${esc(s.id)}">${s.html}</a>`;
    } else {
      if (!open) { html += i === 0 ? '<li><ol>' : '<ol>'; open = true; }
      html += `<li><a href="#${esc(s.id)}">${s.html}</a></li>`;
    }
  });
  return `${html}${open ? '</ol>' : ''}</li></ol>`;
}

// "On this page": the page's sections (h2, h3) in a column beside the text on wide screens.
function outline(page) {
  const secs = sectionList(page);
  if (!secs.length) return '';
  const items = secs.map((s) => `<li class="depth-${s.depth}"><a href="#${esc(s.id)}">${s.html}</a></li>`).join('');
  return `<aside class="outline" aria-label="On this page"><p class="outline-title">On this page</p><ol>${items}</ol></aside>`;
}

// Per-page downloads: the chapter's MyST source (.md), its notebook with outputs (.ipynb), and
// the PDF of the whole book when tools/build_book.py has built it into the same folder.
function downloads(page) {
  const links = [];
  const src = page.location ? path.join(projectRoot, page.location.replace(/^\//, '')).replace(/\.ipynb$/, '.md') : null;
  if (src && src.endsWith('.md') && fs.existsSync(src)) {
    const name = path.basename(src);
    mdSources.set(`sources/${name}`, src);
    links.push(`<a class="download md" href="sources/${esc(name)}" download="${esc(name)}">${esc(name)}</a>`);
  }
  const nb = (page.data.frontmatter.exports || []).find((e) => e.format === 'ipynb');
  if (nb) links.push(`<a class="download ipynb" href="${esc(local(nb.url))}" download="${esc(nb.filename)}">${esc(nb.filename)}</a>`);
  if (hasPdf) links.push(`<a class="download pdf" href="${PDF_NAME}" download>the whole book (PDF)</a>`);
  return links.length ? `<p class="downloads"><span>Download:</span> ${links.join(' ')}</p>` : '';
}

// "Run this chapter": the README's JupyterLab command (the block after <!-- lab-command -->),
// the chapter's files, and the student edition's command when the README has one
// (<!-- student-command -->). The README itself is copied into the site and linked.
const README = path.join(projectRoot, 'README.md');
const readmeText = fs.existsSync(README) ? fs.readFileSync(README, 'utf8') : '';
function readmeCommand(marker) {
  const m = new RegExp(`<!-- ${marker} -->\\s*\`\`\`bash\\n([\\s\\S]+?)\\n\\s*\`\`\``).exec(readmeText);
  return m ? m[1].trim() : null;
}
function runBox(page) {
  const src = page.location ? path.join(projectRoot, page.location.replace(/^\//, '')).replace(/\.ipynb$/, '.md') : null;
  if (!src || !fs.existsSync(src)) return '';
  const name = path.basename(src);
  const lab = readmeCommand('lab-command');
  const student = readmeCommand('student-command');
  const nb = (page.data.frontmatter.exports || []).find((e) => e.format === 'ipynb');
  const files = [`<a class="download md" href="sources/${esc(name)}" download="${esc(name)}">${esc(name)}</a>`,
    ...(nb ? [`<a class="download ipynb" href="${esc(local(nb.url))}" download="${esc(nb.filename)}">${esc(name.replace(/\.md$/, '.ipynb'))}</a>`] : [])];
  return `<aside class="run-chapter" aria-label="Run this chapter" data-pagefind-ignore>
<p><strong>Run this chapter</strong> in JupyterLab: in a clone of the repository, after the book command of the ${readmeText ? '<a href="README.md">README</a>' : 'README'}, run</p>
${lab ? `<pre class="command"><code>${esc(lab)}</code></pre>` : ''}
<p>and open <code>${esc(name)}</code>; it opens as a notebook with its outputs. The chapter's files: ${files.join(' · ')}.</p>
${student ? `<p>The student edition (the package's functions left for you to write, the solutions removed):</p><pre class="command student"><code>${esc(student)}</code></pre>` : ''}
</aside>`;
}

function footer() {
  const lic = pages[0].data.frontmatter.license || {};
  const licLink = (l, what) => (l ? `${what} <a href="${esc(l.url)}">${esc(l.id || l.name)}</a>` : '');
  const license = [licLink(lic.content, 'Text'), licLink(lic.code, 'code')].filter(Boolean).join(', ');
  return `<footer class="site-footer">
<p><strong>${esc(project.title || config.title)}</strong>${license ? ` · ${license}` : ''}${hasPdf ? ` · <a href="${PDF_NAME}">PDF of the whole book</a>` : ''}${readmeText ? ' · <a href="README.md">README</a>' : ''}</p>
<p class="paper">Follows J. Bouvrie, <em>Notes on Convolutional Neural Networks</em>, MIT Center for Biological and Computational Learning, 2006; its formulas are cited and re-derived, not copied.</p>
</footer>`;
}

function layout(page, i, body) {
  const prev = pages[i - 1];
  const next = pages[i + 1];
  const toc = pages
    .map((p) => (p === page
      ? `<li class="current"><a href="${p.href}" aria-current="page">${esc(p.title)}</a>${pageToc(p)}</li>`
      : `<li><a href="${p.href}">${esc(p.title)}</a></li>`))
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>${esc(page.title)} · ${esc(config.title || project.title)}</title>
<script>${THEME_BOOT}</script>
<link rel="stylesheet" href="assets/fonts/fonts.css">
<link rel="stylesheet" href="assets/katex/katex.min.css">
<link rel="stylesheet" href="assets/hljs.css">
<link rel="stylesheet" href="assets/book.css">
<script src="assets/book.js" defer></script>
</head>
<body>
<nav class="sidebar" aria-label="Book">
<div class="sidebar-head">
<button type="button" class="menu-toggle" aria-controls="toc-panel" aria-expanded="false">&#9776; Menu</button>
<a class="book-title" href="index.html">${esc(project.title || config.title)}</a>
<button type="button" class="theme-toggle" aria-label="Dark mode" aria-pressed="false" title="Switch between light and dark">&#9680;</button>
</div>
<div class="toc-panel" id="toc-panel">
<form class="search" role="search" action="#" onsubmit="return false">
<input type="search" id="search-input" placeholder="Search the book" aria-label="Search the book" autocomplete="off">
</form>
<div id="search-results" class="search-results" aria-live="polite"></div>
<ol class="toc">
${toc}
</ol>
</div>
</nav>
<main>
<article data-pagefind-body>
<header><h1 class="page-title">${esc(page.title)}</h1>${downloads(page)}</header>
${runBox(page)}
${body}
</article>
<nav class="pager">
${prev ? `<a class="prev" href="${prev.href}"><span>Previous</span>${esc(prev.title)}</a>` : '<span></span>'}
${next ? `<a class="next" href="${next.href}"><span>Next</span>${esc(next.title)}</a>` : '<span></span>'}
</nav>
${footer()}
</main>
${outline(page)}
</body>
</html>
`;
}

// ---------- write ----------
const pdfKept = hasPdf ? fs.readFileSync(path.join(outDir, PDF_NAME)) : null;
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(path.join(outDir, 'assets'), { recursive: true });
if (pdfKept) fs.writeFileSync(path.join(outDir, PDF_NAME), pdfKept);
pages.forEach((page, i) => fs.writeFileSync(path.join(outDir, page.href), layout(page, i, renderBody(page))));

const publicDir = path.join(siteDir, 'public');
if (fs.existsSync(publicDir)) fs.cpSync(publicDir, outDir, { recursive: true }); // figures, downloads
fs.cpSync(path.join(NM, 'katex/dist/katex.min.css'), path.join(outDir, 'assets/katex/katex.min.css'));
fs.cpSync(path.join(NM, 'katex/dist/fonts'), path.join(outDir, 'assets/katex/fonts'), { recursive: true });
fs.cpSync(path.join(NM, 'highlight.js/styles/github.css'), path.join(outDir, 'assets/hljs.css'));
fs.cpSync(path.join(HERE, 'book.css'), path.join(outDir, 'assets/book.css'));
fs.cpSync(path.join(HERE, 'book.js'), path.join(outDir, 'assets/book.js'));
// highlight.js's dark GitHub style, applied only under the dark theme
const darkCode = fs.readFileSync(path.join(NM, 'highlight.js/styles/github-dark.css'), 'utf8')
  .replace(/\/\*[\s\S]*?\*\//g, '')
  .replace(/(^|\})\s*([^{}@]+)\{/g, (m, close, sel) => `${close}\n${sel.split(',').map((x) => `html[data-theme="dark"] ${x.trim()}`).join(', ')} {`);
fs.appendFileSync(path.join(outDir, 'assets/hljs.css'), `\n/* dark theme (github-dark) */\n${darkCode}`);
fs.mkdirSync(path.join(outDir, 'sources'), { recursive: true });
if (readmeText) fs.writeFileSync(path.join(outDir, 'README.md'), readmeText);
for (const [rel, src] of mdSources) fs.cpSync(src, path.join(outDir, rel));
const fontPkg = path.join(NM, '@fontsource/source-serif-4');
const fontCss = ['400', '400-italic', '600', '700'].map((w) => fs.readFileSync(path.join(fontPkg, `${w}.css`), 'utf8')).join('\n');
fs.mkdirSync(path.join(outDir, 'assets/fonts/files'), { recursive: true });
fs.writeFileSync(path.join(outDir, 'assets/fonts/fonts.css'), fontCss);
for (const f of new Set(fontCss.match(/source-serif-4-[\w-]+\.woff2?/g))) {
  fs.cpSync(path.join(fontPkg, 'files', f), path.join(outDir, 'assets/fonts/files', f));
}

// Self-check: every relative href/src in the written pages must exist (and #anchors too).
const ids = Object.fromEntries(pages.map((p) => [p.href, new Set([...fs.readFileSync(path.join(outDir, p.href), 'utf8').matchAll(/ id="([^"]+)"/g)].map((m) => m[1]))]));
for (const p of pages) {
  for (const [, url] of fs.readFileSync(path.join(outDir, p.href), 'utf8').matchAll(/(?:href|src)="([^"]*)"/g)) {
    if (/^[a-z]+:|^\/\//i.test(url)) continue; // external
    const [file, hash] = url.split('#');
    const target = file || p.href;
    if (!fs.existsSync(path.join(outDir, target))) errors.push(`${p.slug}: broken link "${url}"`);
    else if (hash && ids[target] && !ids[target].has(decodeURIComponent(hash))) errors.push(`${p.slug}: broken anchor "${url}"`);
  }
}

if (errors.length) {
  console.error(`render: ${errors.length} error(s):\n  ${errors.join('\n  ')}`);
  process.exit(1);
}
console.log(`render: wrote ${pages.length} pages to ${outDir}`);
