// cnnlit mystmd plugin (loaded via `project: plugins:` in myst.yml). No npm deps.
// 1. Equations carrying \tag{N} get enumerator N, so {eq}/[](#..) references show
//    the same number KaTeX draws (mystmd keeps a preset node.enumerator).
//    Untagged, unlabelled equations are left unnumbered.
// 2. Links to a jupytext `X.md` whose paired `X.ipynb` is the page in the toc are
//    pointed at the .ipynb, so mystmd resolves them as page links (and checks them).
// 3. Figures, tables and exercises are numbered per chapter, with the chapter as prefix: the third
//    figure of book/03_subsampling is "3.3", of book/A1_digits "A.3". The prefix comes from
//    the file name (NN_name: NN; A1_name: A), so the caption ("Figure 3.3:") and every
//    reference to it ("Figure 3.3", from any page) show the same number (mystmd keeps a
//    preset enumerator). A page whose name has no such prefix counts 1, 2, ...
import fs from 'node:fs';
import path from 'node:path';

const TAG = /\\tag\*?\{([^{}]+)\}/;

function walk(node, fn) {
  fn(node);
  (node.children || []).forEach((c) => walk(c, fn));
}

// "03_subsampling.ipynb" -> "3", "A1_digits.ipynb" -> "A", "references.ipynb" -> null
function chapterPrefix(file) {
  const name = path.basename(file || '');
  let m = /^(\d+)_/.exec(name);
  if (m) return String(Number(m[1]));
  m = /^([A-Z])\d*_/.exec(name);
  return m ? m[1] : null;
}

const NUMBERED_KINDS = ['figure', 'table'];

const transform = () => (tree, vfile) => {
  const dir = path.dirname(vfile.path || '.');
  const prefix = chapterPrefix(vfile.path);
  const counts = Object.fromEntries(NUMBERED_KINDS.map((k) => [k, 0]));
  walk(tree, (node) => {
    if (node.type === 'container' && NUMBERED_KINDS.includes(node.kind) && !node.subcontainer
        && node.enumerated !== false && !node.enumerator) {
      counts[node.kind] += 1;
      node.enumerator = prefix ? `${prefix}.${counts[node.kind]}` : String(counts[node.kind]);
    }
    // exercises too: "Exercise 5.3" is chapter 5's third
    if (node.type === 'exercise' && node.enumerated !== false && node.gate !== 'end') {
      counts.exercise = (counts.exercise || 0) + 1;
      node.enumerator = prefix ? `${prefix}.${counts.exercise}` : String(counts.exercise);
    }
    if (node.type === 'math') {
      const m = TAG.exec(node.value || '');
      if (m) node.enumerator = m[1].trim();
      else if (!node.label) node.enumerated = false; // untagged, unlabelled: no number
    }
    if (node.type === 'link' && typeof node.url === 'string') {
      const m = /^([^:#?]+)\.md(#.*)?$/.exec(node.url);
      if (m && fs.existsSync(path.resolve(dir, `${m[1]}.ipynb`))) {
        node.url = `${m[1]}.ipynb${m[2] || ''}`;
      }
    }
  });
};

export default {
  name: 'cnnlit',
  transforms: [{ name: 'cnnlit-tags-md-links-and-numbers', stage: 'document', plugin: transform }],
};
