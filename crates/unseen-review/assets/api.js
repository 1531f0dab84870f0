// The server's JSON API (see crates/unseen-review/src/routes.rs). Same origin only; the token
// travels in an HttpOnly cookie the page never sees.

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((data && data.error) || `${method} ${path}: ${r.status}`);
  return data;
}

export const state = () => call('GET', '/api/state');
export const detail = (id) => call('GET', `/api/inputs/${id}`);
export const frame = (id, n) => call('GET', `/api/inputs/${id}/frames/${n}`);
export const putDecisions = (id, entry) => call('PUT', `/api/inputs/${id}/decisions`, entry);
export const setTrack = (id, t, exclude) => call(exclude ? 'POST' : 'DELETE', `/api/inputs/${id}/tracks/${t}/exclusion`);
export const publish = (all) => call('POST', '/api/publish', { all });

let bust = 0;
export function imageUrl(id, published, frameNo) {
  const q = new URLSearchParams({ view: published ? 'published' : 'original' });
  if (frameNo !== null && frameNo !== undefined) q.set('frame', frameNo);
  if (published) q.set('n', ++bust); // a fresh rendering each time (fresh noise, new decisions)
  return `/api/inputs/${id}/image?${q}`;
}
export const thumbUrl = (id) => `/api/inputs/${id}/thumb`;
