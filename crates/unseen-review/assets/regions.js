// Decisions as data: one input's entry of the --regions file ({obscure, ignore, reviewed}), and
// the boxes the viewer shows for it. Pure functions; the server saves and the library decides.

const centre = (r) => [r.x + r.w / 2, r.y + r.h / 2];
const inside = (b, [x, y]) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h;
export const applies = (b, frame) => !b.frames || frame === null || (frame >= b.frames[0] && frame <= b.frames[1]);
const copy = (e) => ({ obscure: [...(e.obscure || [])], ignore: [...(e.ignore || [])], reviewed: !!e.reviewed });
const rect = (r) => ({ x: r.x, y: r.y, w: r.w, h: r.h });

/**
 * Excludes a detection of an image: an ignore box that is the detection's own box, limited to
 * its kind (excluding a person must not drop the face inside it).
 */
export function exclude(entry, det) {
  const e = copy(entry);
  e.ignore.push({ ...rect(det), kind: det.kind || 'face' });
  return e;
}

/** Undoes exclusions of a detection: drops this entry's ignore boxes that hold its centre. */
export function include(entry, det, frame) {
  const e = copy(entry);
  const c = centre(det);
  const kind = det.kind || 'face';
  e.ignore = e.ignore.filter((b) => !(applies(b, frame) && inside(b, c) && (!b.kind || b.kind === kind)));
  return e;
}

export function addRegion(entry, r, frames) {
  const e = copy(entry);
  e.obscure.push(frames ? { ...rect(r), frames } : rect(r));
  return e;
}

export function changeRegion(entry, i, r) {
  const e = copy(entry);
  e.obscure[i] = { ...e.obscure[i], ...rect(r) };
  return e;
}

export function setFrames(entry, i, frames) {
  const e = copy(entry);
  const b = { ...e.obscure[i] };
  if (frames) b.frames = frames; else delete b.frames;
  e.obscure[i] = b;
  return e;
}

export function deleteRegion(entry, i) {
  const e = copy(entry);
  e.obscure.splice(i, 1);
  return e;
}

export function setReviewed(entry, on) {
  const e = copy(entry);
  e.reviewed = on;
  return e;
}

const same = (a, b) => a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h;

/**
 * The boxes to draw: detections (d<i>), covered boxes of video tracks (c<i>), this input's own
 * regions (m<i>, editable) and regions from other entries of the file (o<i>, read only).
 */
export function boxes(detail, frameData, frame, selected) {
  const out = [];
  const dets = frameData ? frameData.detections : (detail.detections || []);
  dets.forEach((d, i) => {
    const track = d.track !== undefined && d.track !== null ? `track ${d.track} · ` : '';
    const what = d.kind && d.kind !== 'face' ? `${d.kind} · ` : '';
    out.push({ key: `d${i}`, kind: d.excluded ? 'exc' : 'det', what: d.kind || 'face', ...rect(d),
      label: `${what}${track}${d.score.toFixed(2)}${d.excluded ? ' excluded' : ''}` });
  });
  if (frameData) {
    frameData.faces.forEach((f, i) => {
      if (!dets.some((d) => same(d, f))) out.push({ key: `c${i}`, kind: 'cov', ...rect(f) });
    });
  }
  const own = detail.decisions.obscure || [];
  own.forEach((b, i) => {
    if (applies(b, frame)) out.push({ key: `m${i}`, kind: 'man', ...rect(b), editable: true, label: 'yours' });
  });
  const others = (detail.combined.obscure || []).slice();
  own.forEach((b) => { const j = others.findIndex((o) => same(o, b)); if (j >= 0) others.splice(j, 1); });
  others.forEach((b, i) => {
    if (applies(b, frame)) out.push({ key: `o${i}`, kind: 'man', ...rect(b), label: 'from regions file' });
  });
  for (const b of out) b.selected = b.key === selected;
  return out;
}
