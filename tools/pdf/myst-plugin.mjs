// Loaded only for the PDF (tools/build_pdf.py adds it to the staged myst.yml). mystmd's typst
// writer drops an admonition that has no kind, which is what `:::{admonition} Title` with a
// `:class:` is; give it the kind its class names (warning, tip, ...), else "note", so that the
// errata boxes reach the PDF with their titles.
const KINDS = ['attention', 'caution', 'danger', 'error', 'hint', 'important', 'note', 'seealso', 'tip', 'warning'];

function walk(node, fn) {
  fn(node);
  (node.children || []).forEach((c) => walk(c, fn));
}

const transform = () => (tree) => {
  walk(tree, (node) => {
    if (node.type !== 'admonition' || node.kind) return;
    const classes = String(node.class || '').split(/\s+/);
    node.kind = classes.find((c) => KINDS.includes(c)) || 'note';
  });
};

export default {
  name: 'cnnlit-pdf',
  transforms: [{ name: 'cnnlit-pdf-admonition-kinds', stage: 'document', plugin: transform }],
};
