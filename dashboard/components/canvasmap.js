// A flat map on a 2D canvas: classed hexagons, points, outlines and labels in web Mercator,
// with pan (drag, arrow keys), zoom (wheel, double click, +/- keys and buttons), a tooltip
// and a click that tells the server which object was chosen. See canvasmap.py for why the
// dashboard draws its flat maps itself rather than through WebGL.
//
// Every text shown (tooltips, labels) is set as text, never as HTML.

const R = 6378137;
const WORLD = 2 * Math.PI * R;
const MIN_ZOOM = 3;
const MAX_ZOOM = 18;
const FONT = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif";

function pxPerMetre(zoom) {
  return (512 * Math.pow(2, zoom)) / WORLD; // deck.gl's world: 512 px at zoom 0
}

function mercX(lon) {
  return (R * lon * Math.PI) / 180;
}

function mercY(lat) {
  const phi = (Math.max(-85.05113, Math.min(85.05113, lat)) * Math.PI) / 180;
  return R * Math.log(Math.tan(Math.PI / 4 + phi / 2));
}

function rgba(c, opacity) {
  const a = (c.length > 3 ? c[3] : 255) / 255;
  return `rgba(${c[0]},${c[1]},${c[2]},${(a * opacity).toFixed(3)})`;
}

// The colour of row i: a constant, or a palette index.
function colourOf(spec, i) {
  if (!spec) return null;
  return Array.isArray(spec) ? spec : spec.palette[spec.index[i]];
}

// Rows of a hexagon layer grouped by colour (one fill per colour), and a grid of their
// centres for picking.
function prepare(layer) {
  if (layer.kind === "hexagons") {
    const groups = new Map();
    const n = layer.x.length;
    let extent = 1;
    for (let i = 0; i < n; i++) {
      const key = layer.fill && !Array.isArray(layer.fill) ? layer.fill.index[i] : -1;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(i);
      const ring = layer.rings[i];
      for (let k = 0; k < ring.length; k++) extent = Math.max(extent, Math.abs(ring[k]));
    }
    const cell = 2 * extent;
    const grid = new Map();
    for (let i = 0; i < n; i++) {
      const key = Math.floor(layer.x[i] / cell) + ":" + Math.floor(layer.y[i] / cell);
      if (!grid.has(key)) grid.set(key, []);
      grid.get(key).push(i);
    }
    layer._groups = groups;
    layer._extent = extent;
    layer._grid = grid;
    layer._cell = cell;
  }
  if (layer.kind === "points" && layer.fill && !Array.isArray(layer.fill)) {
    const groups = new Map();
    layer.fill.index.forEach((k, i) => {
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(i);
    });
    layer._groups = groups;
  }
}

function inRing(px, py, ring) {
  let inside = false;
  const n = ring.length / 2;
  for (let a = 0, b = n - 1; a < n; b = a++) {
    const xa = ring[2 * a], ya = ring[2 * a + 1], xb = ring[2 * b], yb = ring[2 * b + 1];
    if (ya > py !== yb > py && px < ((xb - xa) * (py - ya)) / (yb - ya) + xa) inside = !inside;
  }
  return inside;
}

function setup(root, component) {
  root.innerHTML = "";
  const base = document.createElement("canvas");
  const over = document.createElement("canvas");
  base.className = "cm-base";
  over.className = "cm-over";
  over.tabIndex = 0;
  over.setAttribute("role", "img");
  const tip = document.createElement("div");
  tip.className = "cm-tip";
  tip.hidden = true;
  const buttons = document.createElement("div");
  buttons.className = "cm-buttons";
  const st = { root, base, over, tip, spec: null, text: null, viewKey: null, cx: 0, cy: 0, zoom: 10,
               w: 0, h: 0, hover: null, frame: 0, drag: null, component };
  for (const [label, title, act] of [
    ["+", "Zoom in", () => zoomAt(st, 1, st.w / 2, st.h / 2)],
    ["\u2212", "Zoom out", () => zoomAt(st, -1, st.w / 2, st.h / 2)],
    ["\u27f2", "Reset view", () => resetView(st)],
  ]) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", act);
    buttons.appendChild(b);
  }
  root.append(base, over, tip, buttons);

  over.addEventListener("mousedown", (e) => {
    st.drag = { x: e.clientX, y: e.clientY, cx: st.cx, cy: st.cy, moved: false };
  });
  window.addEventListener("mousemove", (e) => {
    if (!st.drag || !st.root.isConnected) return;
    const dx = e.clientX - st.drag.x, dy = e.clientY - st.drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) st.drag.moved = true;
    if (st.drag.moved) {
      st.hover = null;
      st.tip.hidden = true;
      const s = pxPerMetre(st.zoom);
      st.cx = st.drag.cx - dx / s;
      st.cy = st.drag.cy + dy / s;
      schedule(st);
    }
  });
  window.addEventListener("mouseup", (e) => {
    if (!st.drag) return;
    const drag = st.drag;
    st.drag = null;
    if (!drag.moved && e.target === over) choose(st, e);
  });
  over.addEventListener("mousemove", (e) => { if (!st.drag) hover(st, e); });
  over.addEventListener("mouseleave", () => { st.hover = null; st.tip.hidden = true; drawOver(st); });
  over.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = over.getBoundingClientRect();
    zoomAt(st, -e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  over.addEventListener("dblclick", (e) => {
    const r = over.getBoundingClientRect();
    zoomAt(st, e.shiftKey ? -1 : 1, e.clientX - r.left, e.clientY - r.top);
  });
  over.addEventListener("keydown", (e) => {
    const step = 80 / pxPerMetre(st.zoom);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) { st.cx += moves[e.key][0]; st.cy += moves[e.key][1]; schedule(st); }
    else if (e.key === "+" || e.key === "=") zoomAt(st, 1, st.w / 2, st.h / 2);
    else if (e.key === "-") zoomAt(st, -1, st.w / 2, st.h / 2);
    else return;
    e.preventDefault();
  });
  new ResizeObserver(() => { if (resize(st)) draw(st); }).observe(root);
  return st;
}

function resetView(st) {
  const v = st.spec.view;
  st.cx = mercX(v.longitude);
  st.cy = mercY(v.latitude);
  st.zoom = v.zoom;
  schedule(st);
}

function zoomAt(st, dz, sx, sy) {
  st.hover = null;
  st.tip.hidden = true;
  const s0 = pxPerMetre(st.zoom);
  const wx = st.cx + (sx - st.w / 2) / s0, wy = st.cy - (sy - st.h / 2) / s0;
  st.zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, st.zoom + dz));
  const s1 = pxPerMetre(st.zoom);
  st.cx = wx - (sx - st.w / 2) / s1;
  st.cy = wy + (sy - st.h / 2) / s1;
  schedule(st);
}

function schedule(st) {
  if (st.frame) return;
  st.frame = requestAnimationFrame(() => { st.frame = 0; draw(st); });
}

function resize(st) {
  const w = st.root.clientWidth, h = st.root.clientHeight;
  if (w === st.w && h === st.h) return false;
  const dpr = window.devicePixelRatio || 1;
  st.w = w; st.h = h;
  for (const c of [st.base, st.over]) {
    c.width = Math.max(1, Math.round(w * dpr));
    c.height = Math.max(1, Math.round(h * dpr));
    c.style.width = w + "px";
    c.style.height = h + "px";
    c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  return true;
}

function draw(st) {
  const ctx = st.base.getContext("2d");
  ctx.clearRect(0, 0, st.w, st.h);
  if (!st.spec) return;
  const s = pxPerMetre(st.zoom), hw = st.w / 2, hh = st.h / 2, cx = st.cx, cy = st.cy;
  const sx = (x) => (x - cx) * s + hw, sy = (y) => (cy - y) * s + hh;
  let drawn = 0;
  for (const layer of st.spec.layers) {
    const op = layer.opacity ?? 1;
    if (layer.kind === "hexagons") {
      const margin = layer._extent * s;
      const trace = (rows) => {
        ctx.beginPath();
        for (const i of rows) {
          const x0 = sx(layer.x[i]), y0 = sy(layer.y[i]);
          if (x0 < -margin || y0 < -margin || x0 > st.w + margin || y0 > st.h + margin) continue;
          const ring = layer.rings[i];
          ctx.moveTo(x0 + ring[0] * s, y0 - ring[1] * s);
          for (let k = 2; k < ring.length; k += 2) ctx.lineTo(x0 + ring[k] * s, y0 - ring[k + 1] * s);
          ctx.closePath();
          drawn++;
        }
      };
      for (const [key, rows] of layer._groups) {
        trace(rows);
        if (layer.fill) {
          const c = Array.isArray(layer.fill) ? layer.fill : layer.fill.palette[key];
          ctx.fillStyle = rgba(c, op);
          ctx.fill();
          // the same colour along the edges hides the hairline seams between neighbours
          ctx.strokeStyle = ctx.fillStyle;
          ctx.lineWidth = 0.6;
          ctx.stroke();
        }
        if (layer.line) {
          ctx.strokeStyle = rgba(colourOf(layer.line, rows[0]), op);
          ctx.lineWidth = layer.lineWidthPx;
          ctx.lineJoin = "round";
          ctx.stroke();
        }
      }
    } else if (layer.kind === "points") {
      const n = layer.x.length;
      const radius = (i) => {
        const r = Array.isArray(layer.radius) ? layer.radius[i] : layer.radius;
        const px = layer.radiusUnits === "pixels" ? r : r * Math.cosh(layer.y[i] / R) * s;
        return Math.max(layer.minPx, Math.min(layer.maxPx, px));
      };
      if (layer.line) {
        // each point filled and outlined in turn, as deck.gl draws them: outlines drawn
        // after every fill would cover the points in a dense cluster
        ctx.lineWidth = layer.lineWidthPx;
        for (let i = 0; i < n; i++) {
          const x0 = sx(layer.x[i]), y0 = sy(layer.y[i]), r = radius(i);
          if (x0 < -r || y0 < -r || x0 > st.w + r || y0 > st.h + r) continue;
          ctx.beginPath();
          ctx.arc(x0, y0, r, 0, 2 * Math.PI);
          if (layer.fill) {
            ctx.fillStyle = rgba(colourOf(layer.fill, i), op);
            ctx.fill();
          }
          ctx.strokeStyle = rgba(colourOf(layer.line, i), op);
          ctx.stroke();
          drawn++;
        }
        continue;
      }
      const groups = layer._groups || new Map([[-1, [...Array(n).keys()]]]);
      for (const [key, rows] of groups) {
        ctx.beginPath();
        for (const i of rows) {
          const x0 = sx(layer.x[i]), y0 = sy(layer.y[i]), r = radius(i);
          if (x0 < -r || y0 < -r || x0 > st.w + r || y0 > st.h + r) continue;
          ctx.moveTo(x0 + r, y0);
          ctx.arc(x0, y0, r, 0, 2 * Math.PI);
          drawn++;
        }
        if (layer.fill) {
          ctx.fillStyle = rgba(Array.isArray(layer.fill) ? layer.fill : layer.fill.palette[key], op);
          ctx.fill();
        }
      }
    } else if (layer.kind === "paths") {
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      layer.paths.forEach((p, i) => {
        ctx.beginPath();
        ctx.moveTo(sx(p[0]), sy(p[1]));
        for (let k = 2; k < p.length; k += 2) ctx.lineTo(sx(p[k]), sy(p[k + 1]));
        ctx.strokeStyle = rgba(colourOf(layer.line, i), op);
        ctx.lineWidth = layer.lineWidthPx;
        ctx.stroke();
        drawn++;
      });
    } else if (layer.kind === "labels") {
      ctx.font = `${layer.weight} ${layer.sizePx}px ${FONT}`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      layer.text.forEach((t, i) => {
        ctx.fillStyle = rgba(colourOf(layer.colour, i), op);
        ctx.fillText(t, sx(layer.x[i]), sy(layer.y[i]));
        drawn++;
      });
    }
  }
  st.root.dataset.drawn = String(drawn);
  drawOver(st);
}

// The topmost pickable object under screen point (px, py): {layer, index} or null.
function pick(st, px, py) {
  const s = pxPerMetre(st.zoom);
  const wx = st.cx + (px - st.w / 2) / s, wy = st.cy - (py - st.h / 2) / s;
  const layers = st.spec ? st.spec.layers : [];
  for (let li = layers.length - 1; li >= 0; li--) {
    const layer = layers[li];
    if (!layer.pickable) continue;
    if (layer.kind === "points") {
      let best = null, bestD = Infinity;
      for (let i = 0; i < layer.x.length; i++) {
        const r = Array.isArray(layer.radius) ? layer.radius[i] : layer.radius;
        const rp = Math.max(layer.minPx, Math.min(layer.maxPx,
          layer.radiusUnits === "pixels" ? r : r * Math.cosh(layer.y[i] / R) * s));
        const d = Math.hypot((layer.x[i] - wx) * s, (layer.y[i] - wy) * s);
        if (d <= rp + 1 && d < bestD) { best = i; bestD = d; }
      }
      if (best !== null) return { layer, index: best };
    } else if (layer.kind === "hexagons") {
      const gx = Math.floor(wx / layer._cell), gy = Math.floor(wy / layer._cell);
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) {
        for (const i of layer._grid.get(gx + a + ":" + (gy + b)) || []) {
          if (inRing(wx - layer.x[i], wy - layer.y[i], layer.rings[i])) return { layer, index: i };
        }
      }
    }
  }
  return null;
}

function drawOver(st) {
  const ctx = st.over.getContext("2d");
  ctx.clearRect(0, 0, st.w, st.h);
  const h = st.hover;
  if (!h) return;
  const s = pxPerMetre(st.zoom), layer = h.layer, i = h.index;
  const x0 = (layer.x[i] - st.cx) * s + st.w / 2, y0 = (st.cy - layer.y[i]) * s + st.h / 2;
  ctx.beginPath();
  if (layer.kind === "hexagons") {
    const ring = layer.rings[i];
    ctx.moveTo(x0 + ring[0] * s, y0 - ring[1] * s);
    for (let k = 2; k < ring.length; k += 2) ctx.lineTo(x0 + ring[k] * s, y0 - ring[k + 1] * s);
    ctx.closePath();
  } else {
    const r = Array.isArray(layer.radius) ? layer.radius[i] : layer.radius;
    const rp = Math.max(layer.minPx, Math.min(layer.maxPx,
      layer.radiusUnits === "pixels" ? r : r * Math.cosh(layer.y[i] / R) * s));
    ctx.arc(x0, y0, rp + 1.5, 0, 2 * Math.PI);
  }
  ctx.fillStyle = "rgba(255,255,255,0.35)";
  ctx.fill();
  ctx.strokeStyle = "rgba(20,20,20,0.9)";
  ctx.lineWidth = 2;
  ctx.stroke();
}

function hover(st, e) {
  const r = st.over.getBoundingClientRect();
  const px = e.clientX - r.left, py = e.clientY - r.top;
  const found = pick(st, px, py);
  const same = found && st.hover && found.layer === st.hover.layer && found.index === st.hover.index;
  st.hover = found;
  st.over.style.cursor = found ? "pointer" : "grab";
  if (!found) {
    st.tip.hidden = true;
  } else {
    if (!same) {
      st.tip.replaceChildren();
      const cols = found.layer.columns || {};
      (st.spec.tooltip || []).forEach((name, k) => {
        const v = cols[name] ? cols[name][found.index] : null;
        if (v === null || v === undefined || v === "") return;
        const line = document.createElement(k === 0 ? "b" : "div");
        line.textContent = String(v);
        st.tip.appendChild(line);
      });
    }
    st.tip.hidden = st.tip.childNodes.length === 0;
    const left = Math.min(px + 14, Math.max(0, st.w - st.tip.offsetWidth - 4));
    const top = py + 14 + st.tip.offsetHeight > st.h ? py - st.tip.offsetHeight - 10 : py + 14;
    st.tip.style.left = left + "px";
    st.tip.style.top = Math.max(0, top) + "px";
  }
  if (!same) drawOver(st);
}

function choose(st, e) {
  const r = st.over.getBoundingClientRect();
  const found = pick(st, e.clientX - r.left, e.clientY - r.top);
  if (found) st.component.setTriggerValue("select", { layer: found.layer.id, index: found.index });
}

export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".cm-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "cm-root";
    parentElement.appendChild(root);
  }
  let st = root.__canvasMap;
  if (!st) st = root.__canvasMap = setup(root, component);
  st.component = component;
  // the same text as last time (a rerun of the same view) is not drawn again
  if (data && data.spec && data.spec !== st.text) {
    const spec = JSON.parse(data.spec);
    st.text = data.spec;
    root.style.height = (data.heightPx || 600) + "px";
    spec.layers.forEach(prepare);
    st.spec = spec;
    st.hover = null;
    st.tip.hidden = true;
    st.over.setAttribute("aria-label", spec.label || "map");
    const key = JSON.stringify(spec.view);
    if (key !== st.viewKey) {   // a new area: frame it; the same area keeps the reader's view
      st.viewKey = key;
      st.cx = mercX(spec.view.longitude);
      st.cy = mercY(spec.view.latitude);
      st.zoom = spec.view.zoom;
    }
    resize(st);
    draw(st);
  }
}
