// Loaded only for the PDF (tools/build_pdf.py adds it to the staged myst.yml, after the site's
// plugin, so exercises already carry their chapter's numbers).
// 1. mystmd's typst writer drops an admonition that has no kind, which is what
//    `:::{admonition} Title` with a `:class:` is; give it the kind its class names (warning,
//    tip, ...), else "note", so that the errata boxes reach the PDF with their titles.
// 2. Solutions: the gated pairs (solution-start ... solution-end, across cells) are joined, and
//    each solution is moved to a "Solutions" section at the end of its chapter. Each exercise
//    gets a link to its solution, each solution a link back to its exercise.
// 3. Cells tagged `fold` (they only import or only assert) lose their code in the PDF; their
//    outputs, if any, stay.
import { joinSolutionGates } from '../site/solution-gates.mjs';

const KINDS = ['attention', 'caution', 'danger', 'error', 'hint', 'important', 'note', 'seealso', 'tip', 'warning'];
const FOLD_TAG = 'fold';

function walk(node, fn) {
  fn(node);
  (node.children || []).forEach((c) => walk(c, fn));
}
const text = (value) => ({ type: 'text', value });

function solutionsToTheEnd(tree) {
  const solutions = [];
  walk(tree, (node) => {
    if (!Array.isArray(node.children)) return;
    node.children = node.children.filter((c) => {
      if (c.type !== 'solution') return true;
      solutions.push(c);
      return false;
    });
  });
  if (!solutions.length) return;
  const exercises = new Map();
  walk(tree, (n) => { if (n.type === 'exercise' && n.identifier) exercises.set(n.identifier, n); });
  const section = { type: 'block', children: [{ type: 'heading', depth: 2, children: [text('Solutions')] }] };
  for (const ex of exercises.values()) {  // the title "Exercise 5.3" (the typst writer prints none)
    if (ex.children?.[0]?.type !== 'admonitionTitle') {
      ex.children = [{ type: 'admonitionTitle', children: [text(`Exercise ${ex.enumerator ?? ''}`)] }, ...(ex.children || [])];
    }
  }
  for (const sol of solutions) {
    // the directive's argument, "Solution to [](#ex-...)" in its title
    const title = (sol.children || []).find((c) => c.type === 'admonitionTitle');
    let target = null;
    if (title) walk(title, (x) => { if (!target && x.type === 'crossReference') target = x; });
    const ex = target && exercises.get(target.identifier);
    const number = ex?.enumerator ?? target?.enumerator ?? '';
    if (ex && sol.identifier) {
      ex.children = [...(ex.children || []), { type: 'paragraph', children: [
        { type: 'link', url: `#${sol.identifier}`, children: [text(`Solution to Exercise ${number}`)] }] }];
    }
    if (ex) {
      sol.children = [...(sol.children || []), { type: 'paragraph', children: [
        { type: 'link', url: `#${ex.identifier}`, children: [text(`Back to Exercise ${number}`)] }] }];
    }
    section.children.push(sol);
  }
  tree.children.push(section);
}

function foldCode(tree) {
  walk(tree, (node) => {
    if (node.type !== 'block' || node.kind !== 'notebook-code') return;
    const tags = node.data?.tags || node.data?.metadata?.tags || [];
    if (tags.includes(FOLD_TAG)) node.children = (node.children || []).filter((c) => c.type !== 'code');
  });
}

const transform = () => (tree, file) => {
  walk(tree, (node) => {
    if (node.type !== 'admonition' || node.kind) return;
    const classes = String(node.class || '').split(/\s+/);
    node.kind = classes.find((c) => KINDS.includes(c)) || 'note';
  });
  joinSolutionGates(tree, (message) => { throw new Error(`${file?.path || 'a page'}: ${message}`); });
  solutionsToTheEnd(tree);
  foldCode(tree);
};

export default {
  name: 'cnnlit-pdf',
  transforms: [{ name: 'cnnlit-pdf-admonitions-solutions-folds', stage: 'document', plugin: transform }],
};
