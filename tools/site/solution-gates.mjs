// Solutions are written as gated pairs (`solution-start` ... `solution-end`) so that they can
// hold code cells. mystmd 1.11 parses a notebook cell by cell, so a page's tree has a `solution`
// node with gate "start" inside one block, the notebook blocks that follow, and an empty
// `solution` node with gate "end" (myst.yml silences its "gate is not closed" rule; this
// function reports a gate left open instead). Everything between the gates becomes the
// solution's children. The site (tools/site/render.mjs) folds the result behind "Show
// solution"; the PDF (tools/pdf/myst-plugin.mjs) moves it to the end of its chapter.
// `report(message)` is called for each malformed pair. No npm dependencies.
export function joinSolutionGates(tree, report) {
  const out = [];
  let open = null; // the open solution node
  const isGate = (n, gate) => n.type === 'solution' && n.gate === gate;
  // the pieces of a block cut by a gate keep its kind, not its identity (ids stay unique)
  const piece = (block) => ({ ...block, children: [], identifier: undefined, html_id: undefined, label: undefined });
  for (const block of tree.children || []) {
    const kids = block.type === 'block' && block.kind !== 'notebook-code' ? block.children || [] : null;
    if (!kids || !kids.some((k) => k.type === 'solution' && k.gate)) {
      if (open) open.children.push(block); else out.push(block);
      continue;
    }
    let frag = open ? null : { ...block, children: [] };
    if (frag) out.push(frag);
    for (const k of kids) {
      if (isGate(k, 'start')) {
        if (open) report(`solution "${open.label}" is not closed before solution "${k.label}"`);
        if (!frag) { frag = piece(block); out.push(frag); }
        delete k.gate;
        k.children = [...(k.children || [])];
        frag.children.push(k);
        open = k;
      } else if (isGate(k, 'end')) {
        if (!open) report('a solution-end without its solution-start');
        open = null;
        frag = piece(block);
        out.push(frag);
      } else if (open) {
        open.children.push(k);
      } else {
        frag.children.push(k);
      }
    }
  }
  if (open) report(`solution "${open.label}" has no solution-end`);
  tree.children = out.filter((b) => b.type !== 'block' || (b.children || []).length);
  let stray = 0;
  const count = (n) => { if (n.type === 'solution' && n.gate) stray += 1; (n.children || []).forEach(count); };
  count(tree);
  if (stray) report(`${stray} solution gate(s) inside other content`);
}
