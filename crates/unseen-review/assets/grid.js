// The grid of all inputs: status, face count, thumbnail.
import { thumbUrl } from './api.js';

const cls = (status) => status.replace(' ', '-');

export function renderGrid(el, items, open) {
  el.replaceChildren(...items.map((it) => {
    const card = document.createElement('div');
    card.className = 'card';
    card.tabIndex = 0;
    card.dataset.id = it.id;
    card.dataset.status = it.status;
    const thumb = document.createElement('div');
    thumb.className = 'thumb';
    if (it.status !== 'failed' && it.status !== 'queued' && it.status !== 'detecting') {
      const img = document.createElement('img');
      img.src = thumbUrl(it.id);
      img.alt = '';
      thumb.append(img);
    } else {
      thumb.textContent = it.status === 'failed' ? '✕' : '…';
    }
    const meta = document.createElement('div');
    meta.className = 'meta';
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = it.name;
    name.title = it.name;
    const line = document.createElement('div');
    const badge = document.createElement('span');
    badge.className = `badge ${cls(it.status)}`;
    badge.textContent = it.status;
    if (it.status === 'detecting' && it.progress && it.progress[0]) {
      badge.textContent += ` ${it.progress[0]}${it.progress[1] ? '/' + it.progress[1] : ''} frames`;
    }
    line.append(badge);
    if (it.status === 'to review' || it.status === 'reviewed') {
      const unit = it.kind === 'video' ? 'face track' : 'face';
      const n = document.createElement('span');
      n.className = 'count';
      n.textContent = ` ${it.faces} ${unit}${it.faces === 1 ? '' : 's'}`
        + (it.excluded ? `, ${it.excluded} excluded` : '') + (it.manual ? `, ${it.manual} added` : '');
      line.append(n);
    }
    meta.append(name, line);
    if (it.error) {
      const err = document.createElement('div');
      err.className = 'err';
      err.textContent = it.error;
      meta.append(err);
    }
    card.append(thumb, meta);
    if (it.status !== 'failed') {
      card.addEventListener('click', () => open(it.id));
      card.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(it.id); });
    }
    return card;
  }));
}
