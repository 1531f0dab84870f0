// The picture at full resolution with zoom (wheel, + - 0) and pan (drag), and the boxes drawn
// on it in picture pixels. Knows nothing about decisions: it reports clicks, drags and new boxes.

export class Viewer {
  constructor(stage, canvas, img, layer) {
    Object.assign(this, { stage, canvas, img, layer });
    this.s = 1; this.tx = 0; this.ty = 0;
    this.w = 0; this.h = 0;
    this.drawing = false;
    this.onSelect = () => {}; this.onDraw = () => {}; this.onChange = () => {};
    stage.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    stage.addEventListener('mousedown', (e) => this.down(e));
    window.addEventListener('mousemove', (e) => this.move(e));
    window.addEventListener('mouseup', (e) => this.up(e));
    new ResizeObserver(() => { if (this.fitted) this.fit(); }).observe(stage);
  }

  /** Shows `url` (a picture of w×h pixels); keeps the zoom when the size is unchanged. */
  load(url, w, h) {
    const same = w === this.w && h === this.h;
    this.w = w; this.h = h;
    return new Promise((resolve) => {
      this.img.onload = () => resolve(true);
      this.img.onerror = () => resolve(false);
      this.img.src = url;
      this.img.width = w; this.img.height = h;
      this.layer.style.width = `${w}px`; this.layer.style.height = `${h}px`;
      if (!same) this.fit();
    });
  }

  fit() {
    const r = this.stage.getBoundingClientRect();
    if (!this.w || !r.width) return;
    this.s = Math.min(r.width / this.w, r.height / this.h) * 0.98;
    this.tx = (r.width - this.w * this.s) / 2;
    this.ty = (r.height - this.h * this.s) / 2;
    this.fitted = true;
    this.apply();
  }

  zoomAt(f, cx, cy) {
    const s = Math.min(Math.max(this.s * f, 0.02), 40);
    this.tx = cx - (cx - this.tx) * (s / this.s);
    this.ty = cy - (cy - this.ty) * (s / this.s);
    this.s = s;
    this.fitted = false;
    this.apply();
  }

  zoom(f) {
    const r = this.stage.getBoundingClientRect();
    this.zoomAt(f, r.width / 2, r.height / 2);
  }

  apply() {
    this.canvas.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.s})`;
    this.canvas.style.setProperty('--s', this.s);
    this.stage.classList.toggle('zoomed', this.s > 2);
  }

  /** Picture pixel under a mouse position. */
  toImage(e) {
    const r = this.stage.getBoundingClientRect();
    return { x: (e.clientX - r.left - this.tx) / this.s, y: (e.clientY - r.top - this.ty) / this.s };
  }

  setDrawing(on) {
    this.drawing = on;
    this.stage.classList.toggle('drawing', on);
  }

  /** boxes: [{key, kind: det|exc|man|cov, x, y, w, h, label, editable, selected}] */
  setBoxes(boxes) {
    this.layer.replaceChildren(...boxes.map((b) => {
      const d = document.createElement('div');
      const what = b.kind === 'det' && b.what && b.what !== 'face' ? ` ${b.what}` : '';
      d.className = `box ${b.kind}${what}${b.selected ? ' sel' : ''}`;
      d.dataset.key = b.key;
      d.dataset.kind = b.kind;
      place(d, b);
      if (b.label) {
        const t = document.createElement('span');
        t.className = 'tag';
        t.textContent = b.label;
        d.append(t);
      }
      if (b.editable) {
        d.dataset.editable = '1';
        const hd = document.createElement('div');
        hd.className = 'handle';
        d.append(hd);
      }
      return d;
    }));
  }

  showBoxes(on) { this.layer.classList.toggle('hidden', !on); }

  down(e) {
    if (e.button !== 0) return;
    this.stage.focus();
    const p = this.toImage(e);
    const el = e.target.closest('.box');
    if (this.drawing) {
      const d = document.createElement('div');
      d.className = 'box man';
      this.layer.append(d);
      this.drag = { type: 'draw', p0: p, el: d };
    } else if (el && el.dataset.editable && !this.layer.classList.contains('hidden')) {
      const r = rectOf(el);
      this.drag = { type: e.target.classList.contains('handle') ? 'resize' : 'move', p0: p, r0: r, el, key: el.dataset.key };
      this.onSelect(el.dataset.key);
    } else if (el && !this.layer.classList.contains('hidden')) {
      this.onSelect(el.dataset.key);
      this.drag = { type: 'pan', x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty };
    } else {
      this.onSelect(null);
      this.drag = { type: 'pan', x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty };
    }
    e.preventDefault();
  }

  move(e) {
    const g = this.drag;
    if (!g) return;
    if (g.type === 'pan') {
      this.tx = g.tx + e.clientX - g.x; this.ty = g.ty + e.clientY - g.y;
      this.fitted = false;
      this.apply();
      return;
    }
    const p = this.toImage(e);
    if (g.type === 'draw') {
      g.r = this.clip(norm(g.p0, p));
    } else if (g.type === 'move') {
      g.r = this.clip({ ...g.r0, x: g.r0.x + p.x - g.p0.x, y: g.r0.y + p.y - g.p0.y }, true);
    } else {
      g.r = this.clip(norm({ x: g.r0.x, y: g.r0.y }, { x: g.r0.x + g.r0.w + p.x - g.p0.x, y: g.r0.y + g.r0.h + p.y - g.p0.y }));
    }
    place(g.el, g.r);
  }

  up() {
    const g = this.drag;
    this.drag = null;
    if (!g || g.type === 'pan' || !g.r) {
      if (g && g.type === 'draw') g.el.remove();
      return;
    }
    const r = round(g.r);
    if (g.type === 'draw') {
      g.el.remove();
      if (r.w >= 2 && r.h >= 2) this.onDraw(r);
    } else if (r.w >= 1 && r.h >= 1) {
      this.onChange(g.key, r);
    }
  }

  /** Keeps a box on the picture (moving keeps its size). */
  clip(r, keepSize) {
    if (keepSize) {
      return { ...r, x: Math.min(Math.max(r.x, 0), this.w - r.w), y: Math.min(Math.max(r.y, 0), this.h - r.h) };
    }
    const x = Math.max(r.x, 0), y = Math.max(r.y, 0);
    return { x, y, w: Math.min(r.x + r.w, this.w) - x, h: Math.min(r.y + r.h, this.h) - y };
  }
}

function norm(a, b) {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(b.x - a.x), h: Math.abs(b.y - a.y) };
}
function round(r) {
  const x = Math.round(r.x), y = Math.round(r.y);
  return { x, y, w: Math.round(r.x + r.w) - x, h: Math.round(r.y + r.h) - y };
}
function place(d, r) {
  Object.assign(d.style, { left: `${r.x}px`, top: `${r.y}px`, width: `${r.w}px`, height: `${r.h}px` });
}
function rectOf(d) {
  return { x: parseFloat(d.style.left), y: parseFloat(d.style.top), w: parseFloat(d.style.width), h: parseFloat(d.style.height) };
}
