// cnnlit mystmd plugin (loaded via `project: plugins:` in myst.yml). No npm deps.
// 1. Equations carrying \tag{N} get enumerator N, so {eq}/[](#..) references show
//    the same number KaTeX draws (mystmd keeps a preset node.enumerator).
//    Untagged, unlabelled equations are left unnumbered.
// 2. Links to a jupytext `X.md` whose paired `X.ipynb` is the page in the toc are
//    pointed at the .ipynb, so mystmd resolves them as page links (and checks them).
import fs from 'node:fs';
import path from 'node:path';

const TAG = /\\tag\*?\{([^{}]+)\}/;

function walk(node, fn) {
  fn(node);
  (node.children || []).forEach((c) => walk(c, fn));
}

const transform = () => (tree, vfile) => {
  const dir = path.dirname(vfile.path || '.');
  walk(tree, (node) => {
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
  transforms: [{ name: 'cnnlit-tags-and-md-links', stage: 'document', plugin: transform }],
};
