"""The page side of ``CanvasHelper`` (an anywidget ES module) and the CSS it brings.

It finds the Cytoscape instance of the ipycytoscape view in the same ``.cdw-canvas-host`` box
(``container._cyreg.cy``, Cytoscape's own registry) and, for each instance it sees:

- draws the helper's ``elements`` in one batch and runs ``layout_options`` (again at each new
  ``revision``), and applies the ``classes`` and ``data`` maps over them as they change, so a
  run's status changes reach Cytoscape without a widget per element;

- applies the helper's stylesheet with ``var(--jp-..., fallback)`` resolved from the page's CSS,
  again whenever JupyterLab's theme changes (Cytoscape draws on canvas and reads no CSS);
- enables mouse-wheel zoom only after a click in the canvas, until a click elsewhere or
  Escape, so the wheel scrolls the page otherwise;
- after each layout, zooms in to ``readable_zoom`` (showing the top of the graph) when fitting
  the whole graph would draw nodes too small to read, and bends each edge whose straight line
  would cross another node (unbundled bezier, checked against the nodes' boxes);
- refits while the user has not touched the view and the canvas changes size;
- runs the kernel's commands: ``fit``, ``center`` (a node, at a readable zoom) and ``png``
  (offers the canvas as a file and sends it back to the kernel);
- sends the Delete key pressed while the canvas is active to the kernel (the editor deletes
  the selected node).

It records ``data-cdw-layouts`` (layouts seen) on the container for tests and benchmarks.
"""

CANVAS_ESM = r"""
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

function readable(model, cy) {
  const z = model.get('readable_zoom');
  const w = cy.width(), h = cy.height();
  if (!w || !h || cy.nodes().empty() || cy.zoom() >= z) return;
  const bb = cy.elements().boundingBox();
  cy.zoom(z);
  cy.pan({ x: w / 2 - z * (bb.x1 + bb.x2) / 2, y: 16 - z * bb.y1 });
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

function draw(model, cy, st) {
  st.revision = model.get('revision');
  st.classes = { ...(model.get('classes') || {}) };
  st.data = model.get('data') || {};
  cy.startBatch();
  cy.elements().remove();
  cy.add(elementsOf(model));
  cy.endBatch();
  cy.resize();
  const options = model.get('layout_options');
  cy.layout(options && options.name ? options : { name: 'preset', fit: true }).run();
}

function patch(model, cy, st) {
  const classes = model.get('classes') || {}, data = model.get('data') || {};
  cy.startBatch();
  for (const [id, cls] of Object.entries(classes)) {
    if (st.classes[id] === cls) continue;
    st.classes[id] = cls;
    const ele = cy.getElementById(id);
    if (ele.nonempty()) ele.classes(cls);
  }
  for (const [id, d] of Object.entries(data)) {
    if (st.data[id] === d) continue;
    const ele = cy.getElementById(id);
    if (ele.nonempty()) ele.data(d);
  }
  st.data = data;
  cy.endBatch();
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
    for (const h of helpers) {
      if (h.cy && h.cy.container() === active) h.model.send({ event: 'delete' });
    }
  }
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
    readable(model, cy);
    route(cy);
  };
  cy.on('layoutstop', () => requestAnimationFrame(after));
  draw(model, cy, st);
  c.addEventListener('wheel', () => { if (cy.userZoomingEnabled()) st.touched = true; },
                     { passive: true });
  cy.on('tapstart', () => { st.touched = true; });
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
  const helper = { disposers: [], cy: null, model };
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
      cy.zoom(Math.max(cy.zoom(), model.get('readable_zoom')));
      cy.center(n);
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
"""
