"""The page side of ``CanvasHelper`` (an anywidget ES module) and the CSS it brings.

It finds the Cytoscape instance of the ipycytoscape view in the same ``.cdw-canvas-host`` box
(``container._cyreg.cy``, Cytoscape's own registry) and, for each instance it sees:

- draws the helper's ``elements`` in one batch (again at each new ``revision``), and applies
  the ``classes`` and ``data`` maps over them as they change, so a run's status changes reach
  Cytoscape without a widget per element;
- keeps nodes where they stand: a drawing places each node at its ``positions`` entry and
  only new nodes are placed, near their neighbours (below what they read, above what reads
  them, else beside the graph, stepped past any node in the way); ``layout_options`` runs on
  every node for the first drawing, a ``fresh`` one and the ``relayout`` command (then nodes
  of a rank that share their neighbours, a wide fan-in, are wrapped into rows when the canvas
  at ``readable_zoom`` cannot show them side by side); after a layout, a
  placement or a drag it writes ``positions`` back to the kernel (a ``preset`` layout, the
  registry's, is run as given each time);
- applies the helper's stylesheet with ``var(--jp-..., fallback)`` resolved from the page's CSS,
  again whenever JupyterLab's theme changes (Cytoscape draws on canvas and reads no CSS);
- enables mouse-wheel zoom only after a click in the canvas, until a click elsewhere or
  Escape, so the wheel scrolls the page otherwise;
- after each layout that fits, zooms in to ``readable_zoom`` (showing the top of the graph)
  when fitting the whole graph would draw nodes too small to read, and bends each edge whose
  straight line would cross another node (unbundled bezier, checked against the nodes' boxes);
- after each layout, placement or route and each drag end, leaves out the edge labels that
  would overlap others (``style.QUIET_LABELS_JS``: class ``cdw-label-quiet``), and marks the
  edge under the pointer (``cdw-hover``) so its label shows;
- refits while the user has not touched the view and the canvas changes size, or is first
  shown (drawn off-screen, e.g. by Run All);
- lights the selected node's lineage (its upstream and downstream; the rest dimmed), and
  shows only the nodes of the legend's status clicked (``decorate``: classes over the
  kernel's);
- runs the kernel's commands: ``fit``, ``center`` (a node, at a readable zoom or ``zoom``),
  ``relayout``, ``targets`` and ``png`` (offers the canvas as a file and sends it back to the
  kernel);
- tells the kernel of a click on the empty canvas (``background``: deselect), of the Delete
  key pressed while the canvas is active (``delete-node`` with the node shown selected, if
  one is), of Enter in the search box (``search``: the next match), and of a Shift+drag from
  a node (``link-from``, answered by the ``targets`` it may feed, which are lit; a drop on one
  is ``link-to``).

It records ``data-cdw-layouts`` (layouts seen) on the container for tests and benchmarks.
"""

from ..model.status import STATUSES
from .style import QUIET_LABELS_JS

# The rule for edge labels is style.py's (QUIET_LABELS_JS), run here as ``quietLabels``.
CANVAS_ESM = "const quietLabels = " + QUIET_LABELS_JS + ";\n" + r"""
const VAR = /var\(\s*(--[\w-]+)\s*,\s*([^()]*(?:\([^()]*\))?[^()]*)\)/g;
const seen = new WeakMap();          // cy -> per-instance state
const helpers = new Set();           // {model, el} of rendered helpers

function cyOf(el) {
  const host = el.closest('.cdw-canvas-host');
  const box = host && host.querySelector('.custom-widget');
  return box && box._cyreg && box._cyreg.cy ? box._cyreg.cy : null;
}

function resolved(model, cy) {
  const css = getComputedStyle(cy.container());
  const value = (v) => typeof v !== 'string' ? v : v.replace(VAR, (m, name, fallback) =>
    css.getPropertyValue(name).trim() || fallback.trim());
  return (model.get('stylesheet') || []).map((rule) => {
    const style = {};
    for (const [k, v] of Object.entries(rule.style)) style[k] = value(v);
    return { selector: rule.selector, style };
  });
}

function applyStyle(model, cy) {
  const sheet = resolved(model, cy);
  if (sheet.length) cy.style(sheet);
}

function stableLayout(model) {
  const options = model.get('layout_options');
  return !!(options && options.name && options.name !== 'preset');
}

function readable(model, cy) {
  const z = model.get('readable_zoom');
  const w = cy.width(), h = cy.height();
  if (!w || !h || cy.nodes().empty() || cy.zoom() >= z) return;
  const bb = cy.elements().boundingBox();
  // The top of the graph, centred on what the first screen shows of it.
  const top = cy.nodes().filter((n) => n.visible() && n.boundingBox().y1 < bb.y1 + h / z);
  const tb = top.nonempty() ? top.boundingBox() : bb;
  cy.zoom(z);
  cy.pan({ x: w / 2 - z * (tb.x1 + tb.x2) / 2, y: 16 - z * bb.y1 });
}

// ---- the elements ------------------------------------------------------------------------------

function elementsOf(model) {
  const classes = model.get('classes') || {}, data = model.get('data') || {};
  return (model.get('elements') || []).map((e) => {
    const id = e.data.id;
    const out = { group: e.group, data: id in data ? { ...e.data, ...data[id] } : e.data,
                  classes: id in classes ? classes[id] : (e.classes || '') };
    if (e.position) out.position = e.position;
    return out;
  });
}

function positionsOf(model) {
  const given = model.get('positions') || {};
  return given && typeof given === 'object' ? given : {};
}

function draw(model, cy, st) {
  st.revision = model.get('revision');
  st.classes = { ...(model.get('classes') || {}) };
  st.data = model.get('data') || {};
  const options = model.get('layout_options');
  const stable = !!(options && options.name && options.name !== 'preset');
  const fresh = !stable || model.get('fresh') || st.relayout;
  const known = fresh ? {} : positionsOf(model);
  const elements = elementsOf(model);
  if (!fresh) {
    for (const e of elements) {
      const p = known[e.data.id];
      if (e.group === 'nodes' && !e.position && p && Number.isFinite(p.x)
          && Number.isFinite(p.y)) e.position = { x: p.x, y: p.y };
    }
  }
  cy.startBatch();
  cy.elements().remove();
  cy.add(elements);
  cy.endBatch();
  cy.resize();
  const leaves = cy.nodes().filter((n) => !n.isParent());
  const placed = leaves.filter((n) => !!known[n.id()]);
  const added = leaves.not(placed);
  if (!stable) {
    st.fitting = true;
    cy.layout(options && options.name ? options : { name: 'preset', fit: true }).run();
  } else if (fresh || placed.empty() || added.length > Math.max(20, placed.length)) {
    layoutAll(model, cy, st, options);  // (mostly new nodes: a layout places them better)
  } else {
    // Positions kept: only the new nodes are placed, near their neighbours.
    place(cy, added, placed, options);
    // Fit unless the user moved the view; then only when a new node would be out of sight.
    const ext = cy.extent();
    const hidden = added.some((n) => {
      const b = n.boundingBox();
      return b.x1 < ext.x1 || b.x2 > ext.x2 || b.y1 < ext.y1 || b.y2 > ext.y2;
    });
    st.fitting = !st.touched || hidden;
    cy.layout({ name: 'preset', fit: st.fitting, padding: options.padding || 20,
                animate: false }).run();
  }
}

// A fresh layout of every node (the first drawing, Re-layout, a new view): the layout runs
// without fitting, wide ranks are wrapped into rows, then the view fits unless the user moved it.
function layoutAll(model, cy, st, options) {
  st.relayout = false;
  st.fitting = true;
  const layout = cy.layout({ ...options, fit: false });
  layout.one('layoutstop', () => {
    wrapRanks(model, cy, options);
    if (st.fitting) cy.fit(undefined, options.padding || 20);
  });
  layout.run();
}

// ---- new nodes near their neighbours, wide ranks in rows -----------------------------------

function boxOf(n, p) {
  const w = n.outerWidth(), h = n.outerHeight();
  return { x1: p.x - w / 2, x2: p.x + w / 2, y1: p.y - h / 2, y2: p.y + h / 2 };
}

function place(cy, fresh, placed, options) {
  const gap = options.nodeSep || 30, rank = options.rankSep || 70;
  const boxes = placed.map((n) => boxOf(n, n.position()));
  const done = new Set(placed.map((n) => n.id()));
  let todo = fresh.toArray();
  while (todo.length) {
    const ready = (n) => n.incomers('node').some((m) => done.has(m.id()))
      || n.outgoers('node').some((m) => done.has(m.id()));
    const i = Math.max(0, todo.findIndex(ready));
    const n = todo.splice(i, 1)[0];
    const ups = n.incomers('node').filter((m) => done.has(m.id()));
    const downs = n.outgoers('node').filter((m) => done.has(m.id()));
    const w = n.outerWidth(), h = n.outerHeight();
    const mean = (c) => c.reduce((a, m) => a + m.position('x'), 0) / c.length;
    let x, y;
    if (ups.length) {
      x = mean(ups);
      y = Math.max(...ups.map((m) => m.position('y') + m.outerHeight() / 2)) + rank + h / 2;
    } else if (downs.length) {
      x = mean(downs);
      y = Math.min(...downs.map((m) => m.position('y') - m.outerHeight() / 2)) - rank - h / 2;
    } else if (boxes.length) {
      x = Math.max(...boxes.map((b) => b.x2)) + gap + w / 2;
      y = Math.min(...boxes.map((b) => b.y1)) + h / 2;
    } else {
      x = 0; y = 0;
    }
    // Step right past any node in the way.
    for (let k = 0; k < 10000; k++) {
      const b = { x1: x - w / 2 - gap / 2, x2: x + w / 2 + gap / 2,
                  y1: y - h / 2 - gap / 4, y2: y + h / 2 + gap / 4 };
      const hit = boxes.find((o) => o.x1 < b.x2 && b.x1 < o.x2 && o.y1 < b.y2 && b.y1 < o.y2);
      if (!hit) break;
      x = hit.x2 + gap + w / 2;
    }
    n.position({ x, y });
    boxes.push(boxOf(n, { x, y }));
    done.add(n.id());
  }
}

// Nodes of one rank (a line of a top-down layout) that have the same neighbours (200
// sources of one sink) and are more than the canvas shows side by side at a readable zoom
// are laid out in rows, in the layout's order; what is below them moves down.
function wrapRanks(model, cy, options) {
  if (options.rankDir && options.rankDir !== 'TB') return;
  const nodes = cy.nodes().filter((n) => !n.isParent() && !n.isChild());
  const ranks = new Map();
  nodes.forEach((n) => {
    const key = Math.round(n.position('y'));
    if (!ranks.has(key)) ranks.set(key, []);
    ranks.get(key).push(n);
  });
  const gap = options.nodeSep || 30;
  const z = model.get('readable_zoom') || 0.6;
  const width = Math.max(cy.width() || 0, 400) / z;
  const ids = (c) => c.map((m) => m.id()).sort().join('\u0001');
  let shift = 0;
  const moves = [];
  for (const y of [...ranks.keys()].sort((a, b) => a - b)) {
    const alike = new Map();  // neighbours -> the rank's nodes that have them
    for (const n of ranks.get(y)) {
      const key = ids(n.incomers('node')) + '\u0002' + ids(n.outgoers('node'));
      if (!alike.has(key)) alike.set(key, []);
      alike.get(key).push(n);
    }
    let extra = 0;
    const wrapped = new Set();
    for (const group of alike.values()) {
      const cell = Math.max(...group.map((n) => n.outerWidth())) + gap;
      const cols = Math.max(4, Math.floor(width / cell));  // as many as fit side by side
      if (group.length < 12 || group.length <= cols) continue;
      group.sort((a, b) => a.position('x') - b.position('x'));
      const rowH = Math.max(...group.map((n) => n.outerHeight())) + gap;
      const centre = (group[0].position('x') + group[group.length - 1].position('x')) / 2;
      const lines = Math.ceil(group.length / cols);
      group.forEach((n, i) => {
        const r = Math.floor(i / cols), c = i % cols;
        const inRow = r === lines - 1 ? group.length - r * cols : cols;
        moves.push([n, centre + (c - (inRow - 1) / 2) * cell, y + shift + r * rowH]);
        wrapped.add(n);
      });
      extra = Math.max(extra, (lines - 1) * rowH);
    }
    if (shift) {
      for (const n of ranks.get(y)) {
        if (!wrapped.has(n)) moves.push([n, n.position('x'), y + shift]);
      }
    }
    shift += extra;
  }
  if (!moves.some(([n, x, y]) => x !== n.position('x') || y !== n.position('y'))) return;
  cy.startBatch();
  for (const [n, x, y] of moves) n.position({ x, y });
  cy.endBatch();
}

function patch(model, cy, st) {
  const classes = model.get('classes') || {}, data = model.get('data') || {};
  let edgesChanged = false;
  cy.startBatch();
  for (const [id, cls] of Object.entries(classes)) {
    if (st.classes[id] === cls) continue;
    st.classes[id] = cls;
    const ele = cy.getElementById(id);
    if (ele.nonempty()) ele.classes(cls);
    if (ele.nonempty() && ele.isEdge()) edgesChanged = true;
  }
  for (const [id, d] of Object.entries(data)) {
    if (st.data[id] === d) continue;
    const ele = cy.getElementById(id);
    if (ele.nonempty()) ele.data(d);
    if (ele.nonempty() && ele.isEdge()) edgesChanged = true;
  }
  st.data = data;
  cy.endBatch();
  decorate(cy, st);
  // The kernel's classes replace an edge's (its quiet class too): the rule runs again.
  if (edgesChanged) quietLabels(cy);
}

// ---- overlays: the selected node's lineage, the legend's filter -----------------------------

// Classes the page adds over the kernel's (which replace an element's classes when they
// change, so these are applied again after each drawing and update).
function decorate(cy, st) {
  const sel = cy.nodes('.cdw-selected');
  const filter = st.filter || '';
  if (!st.decorated && sel.empty() && !filter) return;
  cy.startBatch();
  cy.elements().removeClass('cdw-dim cdw-lineage cdw-filtered');
  if (sel.nonempty()) {
    const line = sel.union(sel.predecessors()).union(sel.successors());
    cy.elements().not(line).addClass('cdw-dim');
    line.edges().addClass('cdw-lineage');
  }
  if (filter) cy.nodes().filter((n) => !n.hasClass(filter)).addClass('cdw-filtered');
  st.decorated = sel.nonempty() || !!filter;
  cy.endBatch();
}

// ---- Shift+drag from a node to another: connect them --------------------------------------

const GHOST = '__cdw_link_end';

// The kernel answers 'link-from' with the nodes the source may feed ('targets': an input of a
// fitting type, no cycle); only those are lit, and a drop on one asks the kernel to connect.
function linking(model, cy, st) {
  cy.on('tapstart', 'node', (ev) => {
    const oe = ev.originalEvent, n = ev.target;
    if (!oe || !oe.shiftKey || n.isParent() || n.id() === GHOST || st.link) return;
    st.link = { source: n.id(), start: { ...n.position() }, targets: null,
                pan: cy.userPanningEnabled() };
    n.ungrabify();
    cy.userPanningEnabled(false);
    cy.add([
      { group: 'nodes', data: { id: GHOST, w: 1, h: 1, label: '' }, classes: 'cdw-ghost',
        position: { ...ev.position } },
      { group: 'edges', data: { id: GHOST + '>', source: n.id(), target: GHOST, label: '' },
        classes: 'cdw-ghost' }]);
    cy.container().dataset.cdwLinking = n.id();
    model.send({ event: 'link-from', id: n.id() });
  });
  cy.on('tapdrag', (ev) => {
    if (st.link) cy.getElementById(GHOST).position({ ...ev.position });
  });
  cy.on('tapend', (ev) => {
    const link = st.link;
    if (!link) return;
    st.link = null;
    delete cy.container().dataset.cdwLinking;
    cy.remove(cy.getElementById(GHOST));
    const source = cy.getElementById(link.source);
    if (source.nonempty()) {
      source.grabify();
      source.position(link.start);
    }
    cy.userPanningEnabled(link.pan);
    cy.nodes().removeClass('cdw-target cdw-not-target');
    const p = ev.position;
    const hit = cy.nodes().filter((n) => {
      const b = n.boundingBox();
      return !n.isParent() && p.x >= b.x1 && p.x <= b.x2 && p.y >= b.y1 && p.y <= b.y2;
    });
    const target = hit.filter((n) => (link.targets || []).includes(n.id()));
    if (target.nonempty()) {
      model.send({ event: 'link-to', source: link.source, target: target[0].id() });
    }
  });
}

function showTargets(cy, st, msg) {
  if (!st.link || st.link.source !== msg.source) return;
  st.link.targets = msg.ids || [];
  const lit = new Set(st.link.targets);
  cy.startBatch();
  cy.nodes().forEach((n) => {
    if (n.id() === GHOST || n.id() === msg.source || n.isParent()) return;
    n.addClass(lit.has(n.id()) ? 'cdw-target' : 'cdw-not-target');
  });
  cy.endBatch();
  cy.container().dataset.cdwTargets = st.link.targets.join('\n');
}

// ---- positions back to the kernel ------------------------------------------------------------

function savePositions(model, cy) {
  const out = {};
  cy.nodes().forEach((n) => {
    if (n.isParent() || n.id() === GHOST) return;
    const p = n.position();
    out[n.id()] = { x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 };
  });
  const now = positionsOf(model);
  const same = Object.keys(out).length === Object.keys(now).length
    && Object.entries(out).every(([id, p]) => now[id] && now[id].x === p.x && now[id].y === p.y);
  if (same) return;
  model.set('positions', out);
  model.save_changes();
}

// ---- edges around nodes --------------------------------------------------------------------

function control(p0, p2, d) {
  const dx = p2.x - p0.x, dy = p2.y - p0.y, l = Math.hypot(dx, dy) || 1;
  return { x: (p0.x + p2.x) / 2 - dy / l * d, y: (p0.y + p2.y) / 2 + dx / l * d };
}

function curveHits(p0, c, p2, boxes) {
  const n = Math.max(8, Math.ceil(Math.hypot(p2.x - p0.x, p2.y - p0.y) / 5));
  for (let i = 1; i < n; i++) {
    const t = i / n, u = 1 - t;
    const x = u * u * p0.x + 2 * u * t * c.x + t * t * p2.x;
    const y = u * u * p0.y + 2 * u * t * c.y + t * t * p2.y;
    for (const b of boxes) if (x > b.x1 && x < b.x2 && y > b.y1 && y < b.y2) return true;
  }
  return false;
}

const BENDS = [0, 45, -45, 80, -80, 120, -120, 170, -170, 230, -230, 300, -300];

function route(cy) {
  const nodes = cy.nodes().filter((n) => n.visible() && !n.isParent());
  const edges = cy.edges();
  if (nodes.length > 1500 || edges.length > 3000) return;
  const boxes = nodes.map((n) => {
    const b = n.boundingBox({ includeLabels: true, includeOverlays: false });
    return { id: n.id(), x1: b.x1 - 4, x2: b.x2 + 4, y1: b.y1 - 4, y2: b.y2 + 4 };
  });
  cy.startBatch();
  edges.forEach((e) => {
    const s = e.source(), t = e.target();
    if (s.same(t)) return;
    const p0 = s.position(), p2 = t.position();
    const near = (d) => {
      const m = Math.abs(d) + 4;
      const x1 = Math.min(p0.x, p2.x) - m, x2 = Math.max(p0.x, p2.x) + m;
      const y1 = Math.min(p0.y, p2.y) - m, y2 = Math.max(p0.y, p2.y) + m;
      return boxes.filter((b) => b.id !== s.id() && b.id !== t.id()
        && b.x1 < x2 && x1 < b.x2 && b.y1 < y2 && y1 < b.y2);
    };
    const wide = near(BENDS[BENDS.length - 1]);
    const bend = wide.length === 0 ? 0
      : BENDS.find((d) => !curveHits(p0, control(p0, p2, d), p2, wide));
    if (!bend) {
      e.removeStyle('curve-style control-point-distances control-point-weights');
    } else {
      e.style({ 'curve-style': 'unbundled-bezier', 'control-point-distances': bend,
                'control-point-weights': 0.5 });
    }
  });
  cy.endBatch();
}

// ---- wheel zoom only while the canvas is active ----------------------------------------------

let active = null;                   // the container clicked last, if any
document.addEventListener('mousedown', (ev) => {
  const t = ev.target;
  active = (t && t.closest && t.closest('.cdw-canvas-host .custom-widget')) || null;
  for (const h of helpers) h.wheel();
}, true);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && active) { active = null; for (const h of helpers) h.wheel(); }
  const typing = ev.target && ev.target.closest && ev.target.closest('input, textarea, select');
  if ((ev.key === 'Delete' || ev.key === 'Backspace') && active && !typing) {
    // Only a node selected now, and shown so, is deleted.
    for (const h of helpers) {
      if (!h.cy || h.cy.container() !== active) continue;
      const sel = h.cy.nodes('.cdw-selected');
      if (sel.length === 1) h.model.send({ event: 'delete-node', id: sel.id() });
    }
  }
  // Enter in the graph widget's search box: the kernel steps to the next match.
  const search = ev.key === 'Enter' && ev.target && ev.target.closest
    && ev.target.closest('.cdw-search');
  if (search) {
    const h = helperIn(search);
    if (h) h.model.send({ event: 'search', text: ev.target.value });
  }
}, true);

// The helper in the same graph widget as element el.
function helperIn(el) {
  const root = el.closest('.cdw-graph-widget');
  if (!root) return null;
  for (const h of helpers) if (h.el.closest('.cdw-graph-widget') === root) return h;
  return null;
}

// A click on a status of the legend shows only the nodes of that status (again: all).
document.addEventListener('click', (ev) => {
  const item = ev.target && ev.target.closest && ev.target.closest('.cdw-legend-item');
  const h = item && helperIn(item);
  if (!h || !h.cy) return;
  const st = seen.get(h.cy);
  const status = item.dataset.status;
  st.filter = st.filter === status ? '' : status;
  const root = h.el.closest('.cdw-graph-widget');
  if (st.filter) root.dataset.cdwFilter = st.filter; else delete root.dataset.cdwFilter;
  decorate(h.cy, st);
  const shown = h.cy.nodes().filter((n) => !n.hasClass('cdw-filtered'));
  if (shown.nonempty()) h.cy.fit(shown, 20);
  if (!st.filter) readable(h.model, h.cy);
}, true);

// ---- attaching to a Cytoscape instance -------------------------------------------------------

function attach(model, cy, helper) {
  if (seen.has(cy)) return seen.get(cy);
  const c = cy.container();
  const st = { touched: false, size: [c.clientWidth, c.clientHeight], layouts: 0 };
  seen.set(cy, st);
  applyStyle(model, cy);
  const after = () => {
    st.layouts += 1;
    c.dataset.cdwLayouts = String(st.layouts);
    if (st.fitting) readable(model, cy);
    st.fitting = false;
    route(cy);
    quietLabels(cy);
    decorate(cy, st);
    if (stableLayout(model)) savePositions(model, cy);
  };
  cy.on('layoutstop', () => requestAnimationFrame(after));
  draw(model, cy, st);
  c.addEventListener('wheel', () => { if (cy.userZoomingEnabled()) st.touched = true; },
                     { passive: true });
  cy.on('tapstart', () => { st.touched = true; });
  // A click on the empty canvas deselects.
  cy.on('tap', (ev) => { if (ev.target === cy) model.send({ event: 'background' }); });
  // A node dragged stays where it was dropped (and its edges are routed again).
  cy.on('dragfree', 'node', () => {
    if (st.link) return;
    route(cy);
    quietLabels(cy);
    if (stableLayout(model)) savePositions(model, cy);
  });
  // The edge under the pointer shows its label (a quiet one too).
  cy.on('mouseover', 'edge', (ev) => ev.target.addClass('cdw-hover'));
  cy.on('mouseout', 'edge', (ev) => ev.target.removeClass('cdw-hover'));
  linking(model, cy, st);
  // Drawn while off-screen (Run All): fit when first shown, unless the user moved the view.
  if (window.IntersectionObserver) {
    const io = new IntersectionObserver((entries) => {
      const shown = entries.some((e) => e.isIntersecting);
      if (shown && !st.shown && !st.touched && c.clientWidth && c.clientHeight) {
        cy.resize();
        cy.fit(undefined, 20);
        readable(model, cy);
        c.dataset.cdwShownFit = String(Number(c.dataset.cdwShownFit || 0) + 1);
      }
      st.shown = shown;
    });
    io.observe(c);
    helper.disposers.push(() => io.disconnect());
  }
  if (window.ResizeObserver) {
    const ro = new ResizeObserver(() => {
      const size = [c.clientWidth, c.clientHeight];
      if (size[0] === st.size[0] && size[1] === st.size[1]) return;
      st.size = size;
      if (!size[0] || !size[1]) return;
      cy.resize();
      if (!st.touched) { cy.fit(undefined, 20); readable(model, cy); }
    });
    ro.observe(c);
    helper.disposers.push(() => ro.disconnect());
  }
  return st;
}

function render({ model, el }) {
  el.classList.add('cdw-canvas-helper');
  const helper = { disposers: [], cy: null, model, el };
  helper.withCy = (fn, tries = 600) => {
    const cy = cyOf(el);
    if (cy) {
      helper.cy = cy;
      attach(model, cy, helper);
      fn(cy);
    } else if (tries > 0) {
      const t = setTimeout(() => helper.withCy(fn, tries - 1), 50);
      helper.disposers.push(() => clearTimeout(t));
    }
  };
  helper.wheel = () => {
    const cy = helper.cy;
    if (!cy) return;
    const mode = model.get('wheel');
    const on = mode === 'always' || (mode === 'focus' && active === cy.container());
    cy.userZoomingEnabled(on);
    cy.container().classList.toggle('cdw-zoom-on', on && mode === 'focus');
  };
  helpers.add(helper);
  helper.withCy(() => helper.wheel());
  const restyle = () => helper.withCy((cy) => applyStyle(model, cy));
  model.on('change:revision', () => helper.withCy((cy) => {
    const st = seen.get(cy);
    if (st.revision !== model.get('revision')) draw(model, cy, st);
  }));
  const update = () => helper.withCy((cy) => patch(model, cy, seen.get(cy)));
  model.on('change:positions', () => helper.withCy((cy) => {
    // Positions given by the kernel (a renamed node's, loaded ones): nodes move there.
    if (!stableLayout(model)) return;
    const given = positionsOf(model);
    cy.startBatch();
    cy.nodes().forEach((n) => {
      const p = given[n.id()];
      if (!n.isParent() && p && (p.x !== n.position('x') || p.y !== n.position('y'))) {
        n.position({ x: p.x, y: p.y });
      }
    });
    cy.endBatch();
    route(cy);
    quietLabels(cy);
  }));
  model.on('change:classes', update);
  model.on('change:data', update);
  model.on('change:stylesheet', restyle);
  model.on('change:wheel', () => helper.wheel());
  model.on('msg:custom', (msg) => helper.withCy((cy) => {
    const st = seen.get(cy);
    if (msg.cmd === 'fit') {
      st.touched = true;
      cy.fit(undefined, 20);
    } else if (msg.cmd === 'png') {
      const bg = getComputedStyle(cy.container()).backgroundColor || '#ffffff';
      const uri = cy.png({ full: true, scale: 2, bg });
      const a = document.createElement('a');
      a.href = uri;
      a.download = msg.filename || 'graph.png';
      a.click();
      model.send({ event: 'png', data: uri });
    } else if (msg.cmd === 'center') {
      const n = cy.getElementById(msg.id);
      if (n.empty()) return;
      st.touched = true;
      cy.zoom(Math.max(cy.zoom(), msg.zoom || model.get('readable_zoom')));
      cy.center(n);
    } else if (msg.cmd === 'targets') {
      showTargets(cy, st, msg);
    } else if (msg.cmd === 'relayout') {
      st.relayout = true;
      draw(model, cy, st);
    }
  }));
  // JupyterLab switches themes by changing attributes of <body>, then its CSS variables.
  const mo = new MutationObserver(() => {
    restyle();
    const t1 = setTimeout(restyle, 300), t2 = setTimeout(restyle, 1200);
    helper.disposers.push(() => { clearTimeout(t1); clearTimeout(t2); });
  });
  mo.observe(document.body, { attributes: true,
                              attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light'] });
  helper.disposers.push(() => mo.disconnect());
  return () => {
    helpers.delete(helper);
    for (const d of helper.disposers) d();
  };
}

export default { render };
"""

CANVAS_CSS = """
.cdw-canvas-host { display: flex; flex-direction: column; min-width: 0; }
.cdw-canvas-host .custom-widget {
  background-color: var(--jp-layout-color0, #ffffff);
  border: 1px solid var(--jp-border-color2, #e0e0e0);
  box-sizing: border-box; resize: none; outline: none;
}
.cdw-canvas-host .custom-widget:hover { border: 1px solid var(--jp-border-color1, #bdbdbd); }
.cdw-canvas-host .custom-widget.cdw-zoom-on { border: 1px solid var(--jp-brand-color1, #1976d2); }
.cdw-canvas-helper { display: none; }
.cdw-graph-widget .cdw-legend-item { cursor: pointer; border-radius: 3px; padding: 0 3px; }
.cdw-graph-widget .cdw-legend-item:hover { background: var(--jp-layout-color2, #eeeeee); }
.cdw-graph-widget[data-cdw-filter] .cdw-legend-item { opacity: 0.45; }
""" + "".join(
    f'.cdw-graph-widget[data-cdw-filter="{s}"] .cdw-legend-item[data-status="{s}"] '
    "{ opacity: 1; font-weight: 600; outline: 1px solid var(--jp-brand-color1, #1f5fbf); }\n"
    for s in STATUSES)
