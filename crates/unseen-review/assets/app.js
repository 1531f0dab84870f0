// The page: grid ↔ file view, keyboard, saving, Publish. State lives on the server; every
// change is sent at once and the answer redrawn.
import * as api from './api.js';
import { renderGrid } from './grid.js';
import { Viewer } from './viewer.js';
import * as R from './regions.js';

const $ = (id) => document.getElementById(id);
const ui = {
  items: [], current: null, detail: null, frame: 0, frameData: null,
  selected: null, preview: false, state: null, confirmAll: false,
};
const viewer = new Viewer($('stage'), $('canvas'), $('picture'), $('boxes'));

function setSaved(text, bad) {
  $('saved').textContent = text;
  $('saved').style.color = bad ? '#ff6961' : '#aeaeb2';
}

// ---- grid ---------------------------------------------------------------------------------
async function refresh() {
  let st;
  try { st = await api.state(); } catch (e) { setSaved(`server unreachable: ${e.message}`, true); return; }
  ui.state = st;
  ui.items = st.items;
  const p = st.progress;
  const faces = st.items.reduce((n, it) => n + it.faces, 0);
  const reviewed = st.items.filter((it) => it.status === 'reviewed').length;
  $('progress').textContent = p.done < p.total
    ? `Detecting… ${p.done} of ${p.total} files`
    : `${p.total} files, ${faces} faces, ${reviewed} reviewed`;
  document.body.dataset.detecting = p.done < p.total ? '1' : '0';
  const sig = JSON.stringify(st.items);
  if (!$('grid-view').hidden && sig !== ui.gridSig) renderGrid($('grid'), st.items, openFile);
  ui.gridSig = sig;
  if (ui.current !== null) {
    const it = st.items[ui.current];
    if (ui.detail && ui.detail.summary.status !== it.status && ['detecting', 'queued'].includes(ui.detail.summary.status)) {
      await loadFile(ui.current);
    }
  }
  if ($('publish-dialog').open) renderPublish();
}

// ---- file view ----------------------------------------------------------------------------
function openFile(id) {
  location.hash = `#file=${id}`;
}

function route() {
  const m = location.hash.match(/^#file=(\d+)$/);
  if (m && ui.items[+m[1]]) {
    $('grid-view').hidden = true;
    $('file-view').hidden = false;
    loadFile(+m[1]);
  } else {
    ui.current = null;
    ui.detail = null;
    $('file-view').hidden = true;
    $('grid-view').hidden = false;
    renderGrid($('grid'), ui.items, openFile);
    refresh();
  }
}

const isVideo = () => ui.detail && ui.detail.summary.kind === 'video';

async function loadFile(id) {
  const changed = ui.current !== id;
  ui.current = id;
  if (changed) { ui.selected = null; ui.frame = 0; ui.frameData = null; }
  ui.detail = await api.detail(id);
  await showFile(changed);
}

async function showFile(reloadPicture = true) {
  const d = ui.detail;
  const s = d.summary;
  $('file-name').textContent = s.name;
  $('file-status').textContent = s.status;
  $('file-status').className = `badge ${s.status.replace(' ', '-')}`;
  const ready = s.status === 'to review' || s.status === 'reviewed';
  $('reviewed').textContent = s.status === 'reviewed' ? 'Reviewed ✓' : 'Mark reviewed';
  $('reviewed').disabled = !ready;
  $('draw').disabled = !ready;
  $('preview').disabled = !ready;
  $('video-panel').hidden = !isVideo() || !ready;
  if (!ready) {
    viewer.setBoxes([]);
    $('mode-note').textContent = s.status === 'failed' ? s.error : 'Detecting faces…';
    $('list').replaceChildren();
    return;
  }
  $('mode-note').textContent = '';
  if (isVideo()) {
    $('scrubber').max = d.frames - 1;
    $('scrubber').value = ui.frame;
    $('frame-count').textContent = d.frames - 1;
    ui.frameData = await api.frame(ui.current, ui.frame);
    $('frame-no').textContent = ui.frame;
    renderTracks();
  }
  if (reloadPicture || ui.preview) await loadPicture();
  drawBoxes();
}

async function loadPicture() {
  const d = ui.detail;
  const frame = isVideo() ? ui.frame : null;
  await viewer.load(api.imageUrl(ui.current, ui.preview, frame), d.width, d.height);
}

function drawBoxes() {
  const frame = isVideo() ? ui.frame : null;
  const list = R.boxes(ui.detail, ui.frameData, frame, ui.selected);
  viewer.setBoxes(list);
  viewer.showBoxes(!ui.preview);
  $('preview').classList.toggle('on', ui.preview);
  $('mode-note').textContent = ui.preview ? 'As published: what Publish will write (fresh noise each time)' : (viewer.drawing ? 'Drag on the picture to draw a region to obscure' : '');
  const sel = ui.selected || '';
  $('exclude').disabled = !sel.startsWith('d');
  $('delete').disabled = !sel.startsWith('m');
  if (sel.startsWith('d')) {
    const det = currentDetections()[+sel.slice(1)];
    $('exclude').textContent = det && det.excluded ? 'Include' : 'Exclude';
    $('exclude').append(' ', kbd('X'));
  }
  renderList(list);
  renderSelection();
}

const kbd = (k) => { const e = document.createElement('kbd'); e.textContent = k; return e; };
const currentDetections = () => (ui.frameData ? ui.frameData.detections : ui.detail.detections) || [];

function renderList(list) {
  $('list').replaceChildren(...list.filter((b) => b.kind !== 'cov').map((b) => {
    const li = document.createElement('li');
    const k = document.createElement('span');
    k.className = `k ${b.kind}`;
    k.textContent = b.kind === 'man' ? 'region' : b.kind === 'exc' ? 'excluded' : (b.what || 'face');
    if (b.kind === 'det' && b.what && b.what !== 'face') k.classList.add(b.what);
    const t = document.createElement('span');
    t.textContent = `${b.label || ''} at ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.w)}×${Math.round(b.h)}`;
    li.append(k, t);
    li.classList.toggle('sel', b.selected);
    li.classList.toggle('excluded', b.kind === 'exc');
    li.addEventListener('click', () => select(b.key));
    return li;
  }));
}

function renderTracks() {
  const tracks = ui.detail.tracks || [];
  if (!tracks.length) {
    const li = document.createElement('li');
    li.textContent = 'No face found in this video.';
    $('tracks').replaceChildren(li);
    return;
  }
  $('tracks').replaceChildren(...tracks.map((t) => {
    const li = document.createElement('li');
    li.dataset.track = t.id;
    li.classList.toggle('excluded', t.excluded);
    const label = document.createElement('span');
    const what = t.kind && t.kind !== 'face' ? ` (${t.kind})` : '';
    label.textContent = `Track ${t.id}${what}: frames ${t.first}–${t.last} (best ${t.best.toFixed(2)})`;
    label.addEventListener('click', () => gotoFrame(t.first));
    const b = document.createElement('button');
    b.textContent = t.excluded ? 'Include' : 'Exclude';
    b.addEventListener('click', () => toggleTrack(t.id, !t.excluded));
    li.append(label, b);
    return li;
  }));
}

function renderSelection() {
  const el = $('selection');
  el.replaceChildren();
  const sel = ui.selected || '';
  if (!isVideo() || !sel.startsWith('m')) return;
  const i = +sel.slice(1);
  const b = ui.detail.decisions.obscure[i];
  const h = document.createElement('h2');
  h.textContent = 'Your region: frames';
  const all = document.createElement('label');
  const cb = document.createElement('input');
  cb.type = 'checkbox'; cb.id = 'all-frames'; cb.checked = !b.frames;
  all.append(cb, ' every frame');
  const first = numberInput('first-frame', b.frames ? b.frames[0] : 0);
  const last = numberInput('last-frame', b.frames ? b.frames[1] : ui.detail.frames - 1);
  const apply = () => save(R.setFrames(ui.detail.decisions, i, cb.checked ? null : [+first.value, Math.max(+first.value, +last.value)]));
  cb.addEventListener('change', apply);
  first.addEventListener('change', apply);
  last.addEventListener('change', apply);
  const l1 = document.createElement('label'); l1.append('from ', first);
  const l2 = document.createElement('label'); l2.append('to ', last);
  const here1 = document.createElement('button'); here1.textContent = 'Start here';
  here1.addEventListener('click', () => { cb.checked = false; first.value = ui.frame; if (+last.value < ui.frame) last.value = ui.frame; apply(); });
  const here2 = document.createElement('button'); here2.textContent = 'End here';
  here2.addEventListener('click', () => { cb.checked = false; last.value = ui.frame; if (+first.value > ui.frame) first.value = ui.frame; apply(); });
  el.append(h, all, l1, l2, here1, ' ', here2);
}

function numberInput(id, v) {
  const n = document.createElement('input');
  n.type = 'number'; n.id = id; n.min = 0; n.max = ui.detail.frames - 1; n.value = v;
  return n;
}

function select(key) {
  ui.selected = key;
  drawBoxes();
}

/** Sends one change; the server saves it and answers the new state of the file. */
async function commit(request) {
  setSaved('Saving…');
  try {
    ui.detail = await request;
    setSaved('All changes saved');
  } catch (e) {
    setSaved(`Not saved: ${e.message}`, true);
    return;
  }
  await afterChange();
}

const save = (entry) => commit(api.putDecisions(ui.current, entry));

async function afterChange() {
  if (isVideo()) {
    ui.frameData = await api.frame(ui.current, ui.frame);
    renderTracks();
  }
  $('file-status').textContent = ui.detail.summary.status;
  $('file-status').className = `badge ${ui.detail.summary.status.replace(' ', '-')}`;
  $('reviewed').textContent = ui.detail.summary.status === 'reviewed' ? 'Reviewed ✓' : 'Mark reviewed';
  if (ui.preview) await loadPicture();
  drawBoxes();
  refresh();
}

const toggleTrack = (id, exclude) => commit(api.setTrack(ui.current, id, exclude));

async function toggleExclude() {
  const sel = ui.selected || '';
  if (!sel.startsWith('d')) return;
  const det = currentDetections()[+sel.slice(1)];
  if (!det) return;
  if (isVideo()) {
    if (det.track !== null && det.track !== undefined) await toggleTrack(det.track, !det.excluded);
    return;
  }
  const frame = null;
  if (det.excluded) {
    const next = R.include(ui.detail.decisions, det, frame);
    if ((next.ignore.length === (ui.detail.decisions.ignore || []).length)) {
      setSaved('Excluded by an entry of the regions file for other names: edit that file', true);
      return;
    }
    await save(next);
  } else {
    await save(R.exclude(ui.detail.decisions, det));
  }
}

async function deleteSelected() {
  const sel = ui.selected || '';
  if (!sel.startsWith('m')) return;
  ui.selected = null;
  await save(R.deleteRegion(ui.detail.decisions, +sel.slice(1)));
}

async function toggleReviewed() {
  if ($('reviewed').disabled) return;
  await save(R.setReviewed(ui.detail.decisions, !ui.detail.decisions.reviewed));
}

async function togglePreview() {
  if ($('preview').disabled) return;
  ui.preview = !ui.preview;
  await loadPicture();
  drawBoxes();
}

function toggleDraw() {
  if ($('draw').disabled) return;
  viewer.setDrawing(!viewer.drawing);
  $('draw').classList.toggle('on', viewer.drawing);
  if (viewer.drawing && ui.preview) { ui.preview = false; loadPicture(); }
  drawBoxes();
}

async function gotoFrame(n) {
  if (!isVideo()) return;
  ui.frame = Math.min(Math.max(n, 0), ui.detail.frames - 1);
  $('scrubber').value = ui.frame;
  $('frame-no').textContent = ui.frame;
  ui.frameData = await api.frame(ui.current, ui.frame);
  ui.selected = (ui.selected || '').startsWith('m') ? ui.selected : null;
  await loadPicture();
  drawBoxes();
}

function step(d) {
  if (ui.current === null) return;
  const n = ui.items.length;
  for (let k = 1; k <= n; k++) {
    const i = (ui.current + d * k + n * k) % n;
    if (ui.items[i].status !== 'failed') { openFile(i); return; }
  }
}

viewer.onSelect = select;
viewer.onDraw = async (r) => {
  const frames = isVideo() ? [ui.frame, ui.detail.frames - 1] : null;
  const entry = R.addRegion(ui.detail.decisions, r, frames);
  viewer.setDrawing(false);
  $('draw').classList.remove('on');
  ui.selected = `m${entry.obscure.length - 1}`;
  await save(entry);
};
viewer.onChange = (key, r) => {
  if (key.startsWith('m')) save(R.changeRegion(ui.detail.decisions, +key.slice(1), r));
};

// ---- publish ------------------------------------------------------------------------------
function renderPublish() {
  const st = ui.state;
  if (!st) return;
  const body = $('publish-body');
  body.replaceChildren();
  const ok = st.items.filter((it) => it.status !== 'failed');
  const reviewed = ok.filter((it) => it.status === 'reviewed').length;
  const unreviewed = ok.length - reviewed;
  const p = st.publish;
  const para = (t) => { const e = document.createElement('p'); e.textContent = t; body.append(e); return e; };
  para(`Outputs go to ${st.out}. Each is re-read and verified before it is written under its final name; originals are never changed.`);
  if (st.progress.done < st.progress.total) para('Detection is still running: publish when it has finished.');
  para(`${reviewed} of ${ok.length} files are marked reviewed.`);
  $('publish-reviewed').textContent = `Publish ${reviewed} reviewed`;
  $('publish-reviewed').disabled = p.running || reviewed === 0 || st.progress.done < st.progress.total;
  $('publish-all').textContent = ui.confirmAll
    ? `Yes, publish all ${ok.length}, including ${unreviewed} not reviewed`
    : `Publish all ${ok.length}`;
  $('publish-all').classList.toggle('on', ui.confirmAll);
  $('publish-all').disabled = p.running || ok.length === 0 || st.progress.done < st.progress.total;
  if (p.running) {
    para(`Publishing… ${p.done} of ${p.total}`);
    const bar = document.createElement('progress');
    bar.max = p.total; bar.value = p.done;
    body.append(bar);
  } else if (p.counts) {
    const [w, s, f] = p.counts;
    para(`Done: ${w} written, ${s} skipped, ${f} failed.`).id = 'publish-summary';
    const table = document.createElement('table');
    for (const f of p.files) {
      const tr = document.createElement('tr');
      for (const v of [f.input, f.status, f.error || f.output || '']) {
        const td = document.createElement('td'); td.textContent = v; tr.append(td);
      }
      table.append(tr);
    }
    body.append(table);
    para('The same outputs without this page:');
    const code = document.createElement('code');
    code.id = 'publish-command';
    code.textContent = p.command;
    body.append(code);
  }
}

async function doPublish(all) {
  try {
    await api.publish(all);
  } catch (e) {
    setSaved(e.message, true);
  }
  ui.confirmAll = false;
  await refresh();
  renderPublish();
}

$('publish-btn').addEventListener('click', () => { ui.confirmAll = false; renderPublish(); $('publish-dialog').showModal(); });
$('publish-close').addEventListener('click', () => $('publish-dialog').close());
$('publish-reviewed').addEventListener('click', () => doPublish(false));
$('publish-all').addEventListener('click', () => {
  const st = ui.state;
  const unreviewed = st.items.filter((it) => it.status === 'to review').length;
  if (unreviewed > 0 && !ui.confirmAll) { ui.confirmAll = true; renderPublish(); return; }
  doPublish(true);
});

// ---- controls and keyboard -------------------------------------------------------------------
$('back').addEventListener('click', () => { location.hash = ''; });
$('prev').addEventListener('click', () => step(-1));
$('next').addEventListener('click', () => step(1));
$('draw').addEventListener('click', toggleDraw);
$('exclude').addEventListener('click', toggleExclude);
$('delete').addEventListener('click', deleteSelected);
$('preview').addEventListener('click', togglePreview);
$('fit').addEventListener('click', () => viewer.fit());
$('reviewed').addEventListener('click', toggleReviewed);
$('help-btn').addEventListener('click', () => $('help').showModal());
$('scrubber').addEventListener('input', () => gotoFrame(+$('scrubber').value));

document.addEventListener('keydown', (e) => {
  if (e.target.tagName === 'INPUT' || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  const inFile = ui.current !== null && !$('file-view').hidden;
  const k = e.key;
  if (k === '?') { $('help').showModal(); e.preventDefault(); return; }
  if (!inFile) return;
  const actions = {
    ArrowLeft: () => step(-1), ArrowRight: () => step(1),
    Escape: () => { if (viewer.drawing) toggleDraw(); else location.hash = ''; },
    d: toggleDraw, x: toggleExclude, Delete: deleteSelected, Backspace: deleteSelected,
    p: togglePreview, r: toggleReviewed, '+': () => viewer.zoom(1.25), '=': () => viewer.zoom(1.25),
    '-': () => viewer.zoom(0.8), 0: () => viewer.fit(),
    ',': () => gotoFrame(ui.frame - 1), '.': () => gotoFrame(ui.frame + 1),
    '<': () => gotoFrame(ui.frame - 10), '>': () => gotoFrame(ui.frame + 10),
  };
  const f = actions[k.length === 1 ? k.toLowerCase() : k];
  if (f) { e.preventDefault(); f(); }
});

window.addEventListener('hashchange', route);
(async () => {
  await refresh();
  route();
  setInterval(refresh, 1000);
})();
