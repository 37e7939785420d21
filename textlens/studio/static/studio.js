// textlens studio: the annotation and validation views. Plain JavaScript, no build step, nothing fetched from
// elsewhere. Every edit is sent at once (one request in flight, later edits coalesced into the next) with the
// page version it was based on; the server answers 409 when another tab saved first, and the banner says so.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const WRITE = { "X-Requested-With": "textlens-studio", "Content-Type": "application/json" };

const S = {
  pages: [], page: null, version: 0, words: [], order: [], cur: -1, before: null,
  canUndo: false, canRedo: false, inFlight: null, pending: false, conflict: null,
  zoom: 1, panX: 0, panY: 0, drawing: false, editing: false, view: "annotate", polygon: null,
  width: 0, height: 0, prelabelTimer: null,
};
// Measured in the browser, read by the tests and docs/studio.md: milliseconds from sending an edit to its ack.
window.studioStats = { acks: [], firstPaint: null };

const pagePath = (name) => name.split("/").map(encodeURIComponent).join("/");

async function api(method, url, body) {
  const init = { method, headers: method === "GET" ? {} : WRITE };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(url, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { status: response.status, data };
}

function setStatus(text, isError) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", !!isError);
}

// ---- pages ------------------------------------------------------------------------------------------------

async function loadPages() {
  const { data } = await api("GET", "/api/pages");
  S.pages = data || [];
  renderPageList();
}

function renderPageList() {
  const list = $("pages");
  list.replaceChildren();
  for (const p of S.pages) {
    const li = document.createElement("li");
    li.dataset.image = p.image;
    li.textContent = p.image;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = p.annotated ? (p.unchecked ? `${p.unchecked} to check` : "✓") : "";
    li.appendChild(badge);
    if (p.image === S.page) li.classList.add("current");
    li.addEventListener("click", () => openPage(p.image));
    list.appendChild(li);
  }
}

async function openPage(name) {
  if (S.page === name) return;
  await idle();
  clearTimeout(S.prelabelTimer);
  S.page = name;
  S.cur = -1;
  S.conflict = null;
  $("conflict").hidden = true;
  history.replaceState(null, "", `#${encodeURIComponent(name)}`);
  renderPageList();
  const started = performance.now();
  const img = $("page-image");
  const loaded = new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; });
  img.src = `/files/${pagePath(name)}`;
  const [{ status, data }] = await Promise.all([api("GET", `/api/pages/${pagePath(name)}`), loaded]);
  if (S.page !== name) return;
  S.width = img.naturalWidth;
  S.height = img.naturalHeight;
  const svg = $("overlay");
  svg.setAttribute("width", S.width);
  svg.setAttribute("height", S.height);
  svg.setAttribute("viewBox", `0 0 ${S.width} ${S.height}`);
  fit();
  if (status !== 200) { setStatus(data ? data.message : `error ${status}`, true); return; }
  applyPage(data, true);
  requestAnimationFrame(() => {
    // performance.now() counts from the navigation's start: the first value is the whole first paint.
    if (window.studioStats.firstPaint === null) window.studioStats.firstPaint = performance.now();
    window.studioStats.lastPaint = performance.now() - started;
  });
}

function applyPage(data, fresh) {
  S.version = data.version;
  S.canUndo = !!data.can_undo;
  S.canRedo = !!data.can_redo;
  const keep = S.order[S.cur];
  const keepPos = S.cur;
  S.words = data.words.map((w) => ({ ...w }));
  S.before = null;
  $("prelabel-note").hidden = true;
  if (data.version === 0 && data.prelabels) {
    const pre = data.prelabels;
    if (pre.status === "ready") {
      S.words = pre.words.map((w) => ({ ...w }));
      S.before = pre.words.map((w) => ({ ...w }));
    } else if (pre.status === "pending") {
      $("prelabel-note").hidden = false;
      $("prelabel-note").textContent = "reading pre-labels…";
      const name = S.page;
      S.prelabelTimer = setTimeout(async () => {
        if (S.page !== name || S.version !== 0 || S.words.length) return;
        const again = await api("GET", `/api/pages/${pagePath(name)}`);
        if (S.page === name && S.version === 0 && !S.words.length && again.status === 200) applyPage(again.data, true);
      }, 400);
    } else if (pre.status === "failed") {
      $("prelabel-note").hidden = false;
      $("prelabel-note").textContent = `no pre-labels: ${pre.message}`;
    }
  }
  S.order = navigationOrder(S.words);
  if (fresh) S.cur = S.order.length ? 0 : -1;
  else {
    // Keep the same word current if it survived (same box), else the same position.
    const same = keep ? S.order.findIndex((w) => sameBox(w, keep)) : -1;
    S.cur = same >= 0 ? same : Math.min(keepPos, S.order.length - 1);
  }
  render();
  updateStatus();
}

const sameBox = (a, b) => a.box.every((v, i) => Math.abs(v - b.box[i]) < 0.01);

// Least confident first; accepted words last; then top to bottom, left to right.
function navigationOrder(words) {
  return [...words].sort((a, b) =>
    (!!a.checked - !!b.checked)
    || ((a.confidence ?? 1) - (b.confidence ?? 1))
    || (a.box[1] - b.box[1]) || (a.box[0] - b.box[0]));
}

const current = () => (S.cur >= 0 ? S.order[S.cur] : null);

// ---- saving -----------------------------------------------------------------------------------------------

function changed() {
  S.pending = true;
  render();
  flush();
}

async function flush() {
  if (S.inFlight || !S.pending || S.conflict || !S.page) return;
  S.pending = false;
  const name = S.page;
  const body = { version: S.version, words: S.words.map(stripWord) };
  if (S.version === 0 && S.before) body.before = S.before;
  setStatus("saving…");
  const started = performance.now();
  S.inFlight = api("PUT", `/api/pages/${pagePath(name)}`, body);
  let result;
  try { result = await S.inFlight; } catch (e) { result = { status: 0, data: null }; }
  S.inFlight = null;
  if (S.page !== name) return;
  if (result.status === 200) {
    window.studioStats.acks.push(performance.now() - started);
    S.version = result.data.version;
    S.canUndo = result.data.can_undo;
    S.canRedo = result.data.can_redo;
    S.before = null;
    updateStatus();
    markAnnotated();
    if (S.pending) flush();
  } else if (result.status === 409) {
    showConflict(result.data.current, result.data.message);
  } else {
    S.pending = true;
    setStatus(`not saved: ${result.data ? result.data.message : "the server did not answer"}`, true);
  }
}

async function idle() {
  while (S.inFlight || (S.pending && !S.conflict)) {
    if (!S.inFlight) flush();
    await (S.inFlight || new Promise((r) => setTimeout(r, 20)));
  }
}

function stripWord(w) {
  const out = { text: w.text, box: w.box.map((v) => Math.round(v * 100) / 100), checked: !!w.checked };
  if (w.poly) out.poly = w.poly;
  if (w.ignore) out.ignore = true;
  if (w.confidence !== undefined && w.confidence !== null) out.confidence = w.confidence;
  return out;
}

function showConflict(currentState, message) {
  S.conflict = currentState;
  $("conflict-text").textContent = `Conflict: ${message}`;
  $("conflict").hidden = false;
  setStatus("conflict: not saved", true);
}

function markAnnotated() {
  const entry = S.pages.find((p) => p.image === S.page);
  if (!entry) return;
  entry.annotated = true;
  entry.unchecked = S.words.filter((w) => !w.checked).length;
  renderPageList();
}

function updateStatus() {
  if (S.conflict) return;
  const unchecked = S.words.filter((w) => !w.checked).length;
  const saved = S.version ? `v${S.version} saved` : "pre-labels, not saved yet";
  setStatus(`${S.page} · ${saved} · ${S.words.length} words, ${unchecked} to check`);
}

async function undoRedo(direction) {
  await idle();
  if (S.conflict || (direction < 0 ? !S.canUndo : !S.canRedo)) return;
  const { status, data } = await api("POST", `/api/${direction < 0 ? "undo" : "redo"}/${pagePath(S.page)}`,
    { version: S.version });
  if (status === 200) { applyPage(data, false); markAnnotated(); }
  else if (status === 409 && data.current) showConflict(data.current, data.message);
}

// ---- drawing ----------------------------------------------------------------------------------------------

function el(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function render() {
  const svg = $("overlay");
  svg.replaceChildren();
  const cur = current();
  const stroke = 2 / S.zoom;
  S.words.forEach((w) => {
    const cls = ["word", w.checked ? "checked" : "", w.ignore ? "ignore" : "", w === cur ? "current" : ""].join(" ");
    const shape = w.poly
      ? el("polygon", { points: w.poly.map((p) => p.join(",")).join(" "), class: cls })
      : el("rect", { x: w.box[0], y: w.box[1], width: w.box[2] - w.box[0], height: w.box[3] - w.box[1], class: cls });
    shape.setAttribute("stroke-width", stroke);
    shape.dataset.index = S.words.indexOf(w);
    shape.addEventListener("mousedown", (ev) => startDrag(ev, w, "move"));
    svg.appendChild(shape);
  });
  if (cur) {
    const points = cur.poly || [[cur.box[0], cur.box[1]], [cur.box[2], cur.box[1]], [cur.box[2], cur.box[3]], [cur.box[0], cur.box[3]]];
    const r = 5 / S.zoom;
    points.forEach((p, k) => {
      const h = el("rect", { x: p[0] - r, y: p[1] - r, width: 2 * r, height: 2 * r, class: "handle" });
      h.setAttribute("stroke-width", stroke / 2);
      h.dataset.corner = k;
      h.addEventListener("mousedown", (ev) => startDrag(ev, cur, "corner", k));
      svg.appendChild(h);
    });
    const label = el("text", { x: cur.box[0], y: cur.box[1] - 4 / S.zoom, class: "label" });
    label.setAttribute("font-size", 13 / S.zoom);
    label.textContent = cur.ignore ? "###" : cur.text;
    svg.appendChild(label);
  }
  if (S.polygon && S.polygon.length) {
    const line = el("polyline", { points: S.polygon.map((p) => p.join(",")).join(" "), class: "word current" });
    line.setAttribute("stroke-width", stroke);
    line.setAttribute("fill", "none");
    svg.appendChild(line);
  }
  renderInspector();
}

function renderInspector() {
  const cur = current();
  $("word-pos").textContent = cur ? `${S.cur + 1} / ${S.order.length}` : "";
  $("word-text").textContent = cur ? (cur.text || "∅") : "";
  $("word-meta").textContent = cur
    ? [cur.checked ? "accepted" : "not checked",
      cur.confidence !== undefined && cur.confidence !== null ? `confidence ${cur.confidence.toFixed(2)}` : "drawn",
      cur.ignore ? "ignore" : "", `box ${cur.box.map((v) => Math.round(v)).join(", ")}`].filter(Boolean).join(" · ")
    : "";
  const canvas = $("crop");
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#eceff1";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const img = $("page-image");
  if (!cur || !img.naturalWidth) return;
  const pad = Math.max(2, 0.2 * (cur.box[3] - cur.box[1]));
  const sx = Math.max(0, cur.box[0] - pad), sy = Math.max(0, cur.box[1] - pad);
  const sw = Math.min(S.width, cur.box[2] + pad) - sx, sh = Math.min(S.height, cur.box[3] + pad) - sy;
  if (sw <= 0 || sh <= 0) return;
  const scale = Math.min(canvas.width / sw, canvas.height / sh);
  const dw = sw * scale, dh = sh * scale;
  ctx.drawImage(img, sx, sy, sw, sh, (canvas.width - dw) / 2, (canvas.height - dh) / 2, dw, dh);
}

// ---- zoom and pan -----------------------------------------------------------------------------------------

function applyTransform() {
  $("stage").style.transform = `translate(${S.panX}px, ${S.panY}px) scale(${S.zoom})`;
}

function fit() {
  const vp = $("viewport").getBoundingClientRect();
  if (!S.width || !vp.width) return;
  S.zoom = Math.min(vp.width / S.width, vp.height / S.height) * 0.98;
  S.panX = (vp.width - S.width * S.zoom) / 2;
  S.panY = (vp.height - S.height * S.zoom) / 2;
  applyTransform();
  render();
}

function zoomAt(factor, cx, cy) {
  const vp = $("viewport").getBoundingClientRect();
  const x = cx ?? vp.width / 2, y = cy ?? vp.height / 2;
  const zoom = Math.min(40, Math.max(0.05, S.zoom * factor));
  S.panX = x - (x - S.panX) * (zoom / S.zoom);
  S.panY = y - (y - S.panY) * (zoom / S.zoom);
  S.zoom = zoom;
  applyTransform();
  render();
}

function toImage(ev) {
  const vp = $("viewport").getBoundingClientRect();
  return [(ev.clientX - vp.left - S.panX) / S.zoom, (ev.clientY - vp.top - S.panY) / S.zoom];
}

// Keep the current word in view when the keyboard moves to it.
function reveal(word) {
  if (!word) return;
  const vp = $("viewport").getBoundingClientRect();
  const [x0, y0, x1, y1] = word.box.map((v) => v * S.zoom);
  if (x0 + S.panX < 0 || x1 + S.panX > vp.width) S.panX = vp.width / 2 - (x0 + x1) / 2;
  if (y0 + S.panY < 0 || y1 + S.panY > vp.height) S.panY = vp.height / 2 - (y0 + y1) / 2;
  applyTransform();
}

// ---- mouse ------------------------------------------------------------------------------------------------

let drag = null;

function startDrag(ev, word, kind, corner) {
  if (ev.button !== 0 || S.drawing || S.polygon) return;
  ev.stopPropagation();
  ev.preventDefault();
  const index = S.order.indexOf(word);
  if (index >= 0 && index !== S.cur) { S.cur = index; render(); }
  drag = { kind, word, corner, start: toImage(ev), box: [...word.box], poly: word.poly ? word.poly.map((p) => [...p]) : null, moved: false };
}

function boxOf(points) {
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function clampBox(b) {
  const [x0, y0, x1, y1] = b;
  return [Math.max(0, Math.min(x0, x1)), Math.max(0, Math.min(y0, y1)),
    Math.min(S.width, Math.max(x0, x1)), Math.min(S.height, Math.max(y0, y1))];
}

$("viewport").addEventListener("mousedown", (ev) => {
  if (S.view !== "annotate" || !S.page) return;
  $("viewport").focus();
  const point = toImage(ev);
  if (S.polygon && ev.button === 0) {
    S.polygon.push(point);
    ev.preventDefault();
    render();
    return;
  }
  if (S.drawing && ev.button === 0) {
    drag = { kind: "draw", start: point, word: null };
    ev.preventDefault();
    return;
  }
  drag = { kind: "pan", startX: ev.clientX, startY: ev.clientY, panX: S.panX, panY: S.panY };
});

window.addEventListener("mousemove", (ev) => {
  if (!drag) return;
  if (drag.kind === "pan") {
    S.panX = drag.panX + ev.clientX - drag.startX;
    S.panY = drag.panY + ev.clientY - drag.startY;
    applyTransform();
    return;
  }
  const [x, y] = toImage(ev);
  const dx = x - drag.start[0], dy = y - drag.start[1];
  drag.moved = drag.moved || Math.abs(dx) + Math.abs(dy) > 0.5;
  if (drag.kind === "draw") {
    if (!drag.word) {
      drag.word = { text: "", box: [x, y, x, y], checked: false };
      S.words.push(drag.word);
      S.order.push(drag.word);
      S.cur = S.order.length - 1;
    }
    drag.word.box = clampBox([drag.start[0], drag.start[1], x, y]);
  } else if (drag.kind === "move") {
    drag.word.box = [drag.box[0] + dx, drag.box[1] + dy, drag.box[2] + dx, drag.box[3] + dy];
    if (drag.poly) drag.word.poly = drag.poly.map((p) => [p[0] + dx, p[1] + dy]);
  } else if (drag.kind === "corner") {
    if (drag.poly) {
      drag.word.poly = drag.poly.map((p, k) => (k === drag.corner ? [p[0] + dx, p[1] + dy] : p));
      drag.word.box = boxOf(drag.word.poly);
    } else {
      const b = [...drag.box];
      const k = drag.corner;  // 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left
      if (k === 0 || k === 3) b[0] += dx; else b[2] += dx;
      if (k === 0 || k === 1) b[1] += dy; else b[3] += dy;
      drag.word.box = clampBox(b);
    }
  }
  render();
});

window.addEventListener("mouseup", () => {
  if (!drag) return;
  const done = drag;
  drag = null;
  if (done.kind === "draw") {
    setDrawing(false);
    if (done.word) {
      const [x0, y0, x1, y1] = done.word.box;
      if (x1 - x0 < 2 || y1 - y0 < 2) {  // a click, not a box
        S.words.splice(S.words.indexOf(done.word), 1);
        S.order.splice(S.order.indexOf(done.word), 1);
        S.cur = Math.min(S.cur, S.order.length - 1);
        render();
      } else {
        changed();
        startEdit();
      }
    }
  } else if ((done.kind === "move" || done.kind === "corner") && done.moved) {
    done.word.box = clampBox(done.word.box);
    changed();
  }
});

$("viewport").addEventListener("wheel", (ev) => {
  ev.preventDefault();
  const vp = $("viewport").getBoundingClientRect();
  zoomAt(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - vp.left, ev.clientY - vp.top);
}, { passive: false });

function setDrawing(on) {
  S.drawing = on;
  $("viewport").classList.toggle("drawing", on);
  $("tool-draw").classList.toggle("active", on);
}

// ---- editing the text in place ----------------------------------------------------------------------------

function startEdit() {
  const cur = current();
  if (!cur) return;
  const input = $("text-input");
  const shape = $("overlay").querySelector(`[data-index="${S.words.indexOf(cur)}"]`);
  const r = shape ? shape.getBoundingClientRect() : $("viewport").getBoundingClientRect();
  input.style.left = `${Math.max(0, r.left)}px`;
  input.style.top = `${Math.min(window.innerHeight - 40, r.bottom + 4)}px`;
  input.style.width = `${Math.max(160, r.width + 40)}px`;
  input.value = cur.text;
  input.hidden = false;
  S.editing = true;
  input.focus();
  input.select();
}

function endEdit(commit) {
  const input = $("text-input");
  if (!S.editing) return;
  S.editing = false;
  input.hidden = true;
  const cur = current();
  if (commit && cur) {
    cur.text = input.value;
    cur.checked = true;
    changed();
    next(1);
  }
  $("viewport").focus();
}

$("text-input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") { ev.preventDefault(); endEdit(true); }
  else if (ev.key === "Escape") { ev.preventDefault(); endEdit(false); }
  ev.stopPropagation();
});
$("text-input").addEventListener("blur", () => { if (S.editing) endEdit(false); });

// ---- keyboard ---------------------------------------------------------------------------------------------

function next(step) {
  if (!S.order.length) return;
  S.cur = (S.cur + step + S.order.length) % S.order.length;
  reveal(current());
  render();
}

async function nextPage(step) {
  const i = S.pages.findIndex((p) => p.image === S.page);
  const target = S.pages[i + step];
  if (target) await openPage(target.image);
}

// Split the current word in two: at the space nearest its middle (else between its middle letters); the box is
// cut where that letter falls, by letter count.
function split() {
  const cur = current();
  if (!cur) return;
  const text = cur.text;
  const spaces = [...text].map((c, i) => (c === " " ? i : -1)).filter((i) => i > 0);
  const middle = text.length / 2;
  const at = spaces.length ? spaces.reduce((a, b) => (Math.abs(b - middle) < Math.abs(a - middle) ? b : a))
    : Math.max(1, Math.floor(middle));
  const left = text.slice(0, at).trim(), right = text.slice(at).trim();
  const [x0, y0, x1, y1] = cur.box;
  const cut = x0 + (x1 - x0) * (text.length ? at / text.length : 0.5);
  const second = { text: right, box: [cut, y0, x1, y1], checked: false };
  cur.text = left;
  cur.box = [x0, y0, cut, y1];
  cur.poly = null;
  cur.checked = false;
  S.words.splice(S.words.indexOf(cur) + 1, 0, second);
  S.order.splice(S.cur + 1, 0, second);
  changed();
}

// Merge the current word with its right-hand neighbour on the same line.
function merge() {
  const cur = current();
  if (!cur) return;
  const [, y0, x1, y1] = cur.box;
  const sameLine = (w) => Math.min(y1, w.box[3]) - Math.max(y0, w.box[1]) > 0.5 * Math.min(y1 - y0, w.box[3] - w.box[1]);
  const right = S.words.filter((w) => w !== cur && w.box[0] >= cur.box[0] && sameLine(w))
    .sort((a, b) => Math.abs(a.box[0] - x1) - Math.abs(b.box[0] - x1))[0];
  if (!right) return;
  cur.text = `${cur.text} ${right.text}`.trim();
  cur.box = [Math.min(cur.box[0], right.box[0]), Math.min(y0, right.box[1]), Math.max(x1, right.box[2]), Math.max(y1, right.box[3])];
  cur.poly = null;
  cur.checked = false;
  S.words.splice(S.words.indexOf(right), 1);
  S.order.splice(S.order.indexOf(right), 1);
  S.cur = S.order.indexOf(cur);
  changed();
}

function finishPolygon() {
  const points = S.polygon;
  S.polygon = null;
  $("viewport").classList.remove("drawing");
  if (!points || points.length < 3) { render(); return; }
  const poly = points.map(([x, y]) => [Math.min(S.width, Math.max(0, x)), Math.min(S.height, Math.max(0, y))]);
  const word = { text: "", box: boxOf(poly), poly, checked: false };
  S.words.push(word);
  S.order.push(word);
  S.cur = S.order.length - 1;
  changed();
  startEdit();
}

function nudge(dx, dy, resize) {
  const cur = current();
  if (!cur) return;
  if (resize) {
    cur.box = clampBox([cur.box[0], cur.box[1], Math.max(cur.box[0] + 2, cur.box[2] + dx), Math.max(cur.box[1] + 2, cur.box[3] + dy)]);
    cur.poly = null;
  } else {
    cur.box = [cur.box[0] + dx, cur.box[1] + dy, cur.box[2] + dx, cur.box[3] + dy];
    if (cur.poly) cur.poly = cur.poly.map((p) => [p[0] + dx, p[1] + dy]);
  }
  changed();
}

document.addEventListener("keydown", (ev) => {
  if (S.view !== "annotate" || S.editing || $("help").open) return;
  if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
  const key = ev.key;
  const ctrl = ev.ctrlKey || ev.metaKey;
  const cur = current();
  let handled = true;
  if (S.polygon) {
    if (key === "Enter") finishPolygon();
    else if (key === "Escape") { S.polygon = null; $("viewport").classList.remove("drawing"); render(); }
    else if (key === "Backspace") { S.polygon.pop(); render(); }
    ev.preventDefault();
    return;
  }
  if (key === "Tab") next(ev.shiftKey ? -1 : 1);
  else if (key === "Enter" && cur) { cur.checked = true; changed(); next(1); }
  else if ((key === "e" || key === "F2") && !ctrl) startEdit();
  else if (key === "i" && cur && !ctrl) { cur.ignore = !cur.ignore; changed(); }
  else if ((key === "Delete" || key === "Backspace") && cur) {
    S.words.splice(S.words.indexOf(cur), 1);
    S.order.splice(S.cur, 1);
    S.cur = Math.min(S.cur, S.order.length - 1);
    changed();
  } else if (key === "b" && !ctrl) setDrawing(!S.drawing);
  else if (key === "g" && !ctrl) { setDrawing(false); S.polygon = []; $("viewport").classList.add("drawing"); }
  else if (key === "s" && !ctrl) split();
  else if (key === "m" && !ctrl) merge();
  else if ((key === "z" && !ev.shiftKey) || (ctrl && key === "z" && !ev.shiftKey)) undoRedo(-1);
  else if (key === "y" || key === "Z" || (ctrl && key === "y")) undoRedo(+1);
  else if ((key === "n" && !ctrl) || key === "PageDown") nextPage(1);
  else if ((key === "p" && !ctrl) || key === "PageUp") nextPage(-1);
  else if (key === "+" || key === "=") zoomAt(1.25);
  else if (key === "-") zoomAt(0.8);
  else if (key === "0") fit();
  else if (key === "?") $("help").showModal();
  else if (key.startsWith("Arrow") && cur) {
    const d = ev.shiftKey ? 10 : 1;
    const dx = key === "ArrowLeft" ? -d : key === "ArrowRight" ? d : 0;
    const dy = key === "ArrowUp" ? -d : key === "ArrowDown" ? d : 0;
    nudge(dx, dy, ev.altKey);
  } else if (key === "Escape" && S.drawing) setDrawing(false);
  else handled = false;
  if (handled) ev.preventDefault();
});

// ---- conflict ---------------------------------------------------------------------------------------------

$("conflict-theirs").addEventListener("click", () => {
  const theirs = S.conflict;
  S.conflict = null;
  S.pending = false;
  $("conflict").hidden = true;
  applyPage(theirs, false);
});
$("conflict-mine").addEventListener("click", () => {
  S.version = S.conflict.version;
  S.conflict = null;
  $("conflict").hidden = true;
  S.pending = true;
  flush();
});

// ---- views ------------------------------------------------------------------------------------------------

function showView(name) {
  S.view = name;
  for (const view of ["annotate", "validate", "export"]) $(`view-${view}`).hidden = view !== name;
  document.querySelectorAll("header .tab").forEach((b) => b.classList.toggle("active", b.dataset.view === name));
  if (name === "annotate") { fit(); $("viewport").focus(); }
}
document.querySelectorAll("header .tab").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
$("help-button").addEventListener("click", () => $("help").showModal());
$("help-close").addEventListener("click", () => $("help").close());
$("tool-draw").addEventListener("click", () => setDrawing(!S.drawing));
$("tool-undo").addEventListener("click", () => undoRedo(-1));
$("tool-redo").addEventListener("click", () => undoRedo(+1));
window.addEventListener("resize", fit);

// ---- validate ---------------------------------------------------------------------------------------------

let validation = null;

$("validate-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  await idle();
  $("validate-status").textContent = "running…";
  const { status, data } = await api("POST", "/api/validate",
    { detector: $("val-detector").value.trim(), recognizer: $("val-recognizer").value.trim() });
  if (status !== 200) { $("validate-status").textContent = data.message; return; }
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const job = await api("GET", `/api/validate/${data.id}`);
    if (job.data.status === "running") continue;
    if (job.data.status === "failed") { $("validate-status").textContent = `failed: ${job.data.message}`; return; }
    validation = job.data.result;
    $("validate-status").textContent = "done";
    showValidation();
    return;
  }
});

function showValidation() {
  const s = validation.summary;
  const rows = [["pages", s.pages], ["words", s.words], ["page CER", s.page_cer], ["word accuracy", s.word_accuracy],
    ["detection F1", s.det_f1], ["end-to-end F1", s.e2e_f1], ["end-to-end F1 (case-insensitive)", s.e2e_ci_f1],
    ["bag-of-words F1", s.bow_f1], ["seconds per page", s.s_per_page]];
  const table = $("metrics");
  table.replaceChildren();
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(4)) : (v ?? "-");
  }
  const link = document.createElement("a");
  link.href = validation.report;
  link.target = "_blank";
  link.textContent = "the full HTML report (textlens eval)";
  $("report-link").replaceChildren(link);
  $("error-filters").hidden = false;
  showErrors();
}

function showErrors() {
  const kind = $("filter-kind").value;
  const maxConf = parseFloat($("filter-conf").value);
  const rows = validation.errors.filter((e) => (!kind || e.kind === kind)
    && (e.confidence === null || Number.isNaN(maxConf) || e.confidence <= maxConf));
  $("error-count").textContent = `${rows.length} of ${validation.errors.length} errors, worst first`;
  const table = $("errors");
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ["kind", "crop", "label", "reading", "confidence", "page"]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.appendChild(th);
  }
  for (const e of rows) {
    const tr = table.insertRow();
    tr.className = e.kind;
    tr.insertCell().textContent = e.kind.replace("_", " ");
    const img = document.createElement("img");
    img.loading = "lazy";
    img.src = `/api/crop/${pagePath(e.page)}?box=${e.box.join(",")}&height=48`;
    tr.insertCell().appendChild(img);
    tr.insertCell().textContent = e.truth;
    tr.insertCell().textContent = e.pred;
    tr.insertCell().textContent = e.confidence === null ? "-" : e.confidence.toFixed(2);
    const open = document.createElement("a");
    open.href = "#";
    open.textContent = e.page;
    open.addEventListener("click", async (click) => {
      click.preventDefault();
      showView("annotate");
      await openPage(e.page);
      const at = S.order.findIndex((w) => boxOverlap(w.box, e.box) > 0.5);
      if (at >= 0) { S.cur = at; reveal(current()); render(); }
    });
    tr.insertCell().appendChild(open);
  }
}

function boxOverlap(a, b) {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih;
  return union > 0 ? (iw * ih) / union : 0;
}

$("filter-kind").addEventListener("change", showErrors);
$("filter-conf").addEventListener("input", showErrors);

// ---- export -----------------------------------------------------------------------------------------------

async function runExport(kind) {
  await idle();
  $("export-result").textContent = "writing…";
  const { data } = await api("POST", "/api/export", { kind, val_fraction: parseFloat($("export-val").value) });
  $("export-result").textContent = JSON.stringify(data, null, 2);
}
$("export-icdar").addEventListener("click", () => runExport("icdar2015"));
$("export-split").addEventListener("click", () => runExport("split"));
$("export-lmdb").addEventListener("click", () => runExport("lmdb"));

// ---- start ------------------------------------------------------------------------------------------------

async function start() {
  const { data } = await api("GET", "/api/info");
  if (data) {
    $("folder").textContent = data.folder;
    for (const [list, names] of [["detectors", data.detectors], ["recognizers", data.recognizers]]) {
      for (const n of names) { const o = document.createElement("option"); o.value = n; $(list).appendChild(o); }
    }
  }
  await loadPages();
  const wanted = decodeURIComponent(location.hash.slice(1));
  const first = S.pages.find((p) => p.image === wanted) || S.pages[0];
  if (first) await openPage(first.image);
  else setStatus("no images in this folder");
  $("viewport").focus();
}
start();
