/* SafeTwin field page (served by safetwin/ui/field.py, whose docstring states the rules).
   Every capture goes into an IndexedDB outbox with an idempotency key made when it is captured and
   is sent from there; the server applies each key once, so sending again after a lost answer is safe. */
'use strict';
const CFG = JSON.parse(document.getElementById('field-config').textContent);
const API = CFG.prefix + '/field/api/';
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));

function T(key, fmt) {
  let s = CFG.labels[key] || key;
  for (const [k, v] of Object.entries(fmt || {})) s = s.split('{' + k + '}').join(v);
  return s;
}

/* A version-4 UUID from crypto.getRandomValues (crypto.randomUUID needs HTTPS; plant Wi-Fi may not have it). */
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ------------------------------------------------------------ local state
const dbReady = new Promise((resolve, reject) => {
  const req = indexedDB.open('safetwin-field', 1);
  req.onupgradeneeded = () => req.result.createObjectStore('outbox', {keyPath: 'key'});
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

async function inStore(mode, fn) {
  const db = await dbReady;
  return new Promise((resolve, reject) => {
    const tx = db.transaction('outbox', mode);
    const req = fn(tx.objectStore('outbox'));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

const outbox = {
  put: (item) => inStore('readwrite', (s) => s.put(item)),
  remove: (key) => inStore('readwrite', (s) => s.delete(key)),
  mine: async () => (await inStore('readonly', (s) => s.getAll())).filter((i) => i.user === CFG.user)
    .sort((a, b) => a.seq - b.seq),
};

/* Lists kept per user for offline use (rounds, permits) and the logs of sent and refused captures. */
const local = {
  key: (name) => `safetwin-field:${CFG.user}:${name}`,
  get(name, empty) {
    try { return JSON.parse(localStorage.getItem(this.key(name))) ?? empty; } catch (e) { return empty; }
  },
  set(name, value) { localStorage.setItem(this.key(name), JSON.stringify(value)); },
  log(name, entry) { this.set(name, [entry, ...this.get(name, [])].slice(0, 30)); },
};

function notice(text, error) {
  const n = $('#notice');
  n.textContent = text || '';
  n.className = text ? 'show' + (error ? ' error' : '') : '';
}

function setNet(on) {
  const n = $('#net');
  n.className = 'net ' + (on ? 'on' : 'off');
  n.title = T(on ? 'fd_online' : 'fd_offline');
}

// ------------------------------------------------------------ talking to the server
async function post(path, body, type, headers) {
  const resp = await fetch(API + path, {method: 'POST', body, credentials: 'same-origin', redirect: 'manual',
                                        cache: 'no-store', headers: {...(headers || {}), 'Content-Type': type}});
  let data = {};
  try { data = await resp.json(); } catch (e) { /* not JSON: the status tells */ }
  return {status: resp.status, data};
}

async function getJSON(url) {
  const resp = await fetch(url, {credentials: 'same-origin', redirect: 'manual', cache: 'no-store'});
  if (!resp.ok) throw new Error('HTTP ' + resp.status);
  return resp.json();
}

/* Who is signed in now (null: nobody); throws without network. */
async function whoami() {
  const resp = await fetch(CFG.prefix + '/field/me', {credentials: 'same-origin', redirect: 'manual', cache: 'no-store'});
  return resp.ok ? (await resp.json()).user : null;
}

// ------------------------------------------------------------ the outbox
let seq = 0;

async function capture(kind, path, body, files, what, extra) {
  const key = newKey();
  const item = {key, seq: Date.now() * 1000 + (seq++ % 1000), user: CFG.user, kind, path, what, files: [...(files || [])],
                photoIds: [], error: '', body: body === null ? null : {...body, client_key: key}, ...(extra || {})};
  await outbox.put(item);
  await render();
  const done = await sync();
  if (!done.includes(key)) notice(T('fd_saved_offline'));
}

let running = null;
let again = false;

/* Send the outbox (one pass at a time; a call during a pass asks for one more). Resolves to the keys
   that left the outbox. */
function sync() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    const done = [];
    do {
      again = false;
      done.push(...await sendOutbox());
    } while (again);
    return done;
  })().finally(() => { running = null; render(); });
  return running;
}

async function sendPhotos(item) {
  while (item.photoIds.length < item.files.length) {
    const f = item.files[item.photoIds.length];
    const r = await post('field/photos', f, f.type || 'application/octet-stream',
                         {'X-Filename': encodeURIComponent(f.name || 'photo')});
    if (r.status !== 200 && r.status !== 201) return r;        // a refused photo refuses its capture
    item.photoIds.push(r.data.id);
    await outbox.put(item);
  }
  return null;
}

function reason(r) {
  const d = r.data.detail;
  return d ? (typeof d === 'string' ? d : JSON.stringify(d)) : 'HTTP ' + r.status;
}

async function sendOutbox() {
  const done = [];
  const items = await outbox.mine();
  if (!items.length) return done;
  let me;
  try { me = await whoami(); } catch (e) { setNet(false); return done; }
  setNet(true);
  if (me !== CFG.user) {
    notice(me ? T('fd_other_user', {user: me, owner: CFG.user}) : T('fd_sign_in_again'), true);
    return done;
  }
  for (const item of items) {
    let r;
    try {
      r = await sendPhotos(item);
      if (!r) {
        const body = item.body === null ? null : {...item.body, ...(item.files.length ? {photos: item.photoIds} : {})};
        r = await post(item.path, body === null ? null : JSON.stringify(body), 'application/json');
      }
    } catch (e) {                                               // no network: keep it for later
      item.error = T('fd_offline');
      await outbox.put(item);
      setNet(false);
      break;
    }
    if (r.status === 200 || r.status === 201) {
      await outbox.remove(item.key);
      done.push(item.key);
      local.log('sent', {what: item.what, id: r.data.id || '', status: r.data.status || r.data.state || ''});
      notice(T('fd_sent_ok', {what: item.what}));
      await afterSent(item, r.data);
      continue;
    }
    if (r.status === 401 || r.status === 0) {                  // signed out: keep it until they sign in
      item.error = T('fd_sign_in_again');
      await outbox.put(item);
      notice(item.error, true);
      break;
    }
    if (r.status === 408 || r.status === 429 || r.status >= 500 || (r.status === 409 && r.data.code === 'in_progress')) {
      item.error = reason(r);                                 // try again later, in order
      await outbox.put(item);
      break;
    }
    await outbox.remove(item.key);                             // refused by the rules: say why
    done.push(item.key);
    local.log('refused', {what: item.what, why: reason(r)});
    notice(T('fd_refused_n', {what: item.what, why: reason(r)}), true);
  }
  return done;
}

async function afterSent(item, data) {
  if (item.kind === 'scan' || item.kind === 'complete') await loadRounds();
  if (item.kind === 'complete' && data.state) {
    notice(T('fd_flags', {state: data.state, flags: (data.flags || []).join(', ') || '—'}));
  }
  if (item.kind === 'gas' || item.kind === 'sign') await loadPermits();
}

async function render() {
  const mine = await outbox.mine();
  const count = $('#outbox-count');
  count.textContent = String(mine.length);
  count.className = mine.length ? 'some' : '';
  $('#outbox').innerHTML = mine.map((i) => `<li data-key="${esc(i.key)}" data-kind="${esc(i.kind)}">${esc(i.what)}`
    + `${i.files.length ? ` (+${i.files.length})` : ''} <span class="why">${esc(i.error)}</span></li>`).join('');
  $('#refused').innerHTML = local.get('refused', []).map((r) => `<li>${esc(r.what)}: <span class="why">${esc(r.why)}</span></li>`).join('');
  $('#sent').innerHTML = local.get('sent', []).map((r) => `<li>${esc(r.what)} ${esc(r.id)} ${esc(r.status)}</li>`).join('');
  renderRound(mine);
}

// ------------------------------------------------------------ tabs
document.querySelectorAll('nav button').forEach((b) => b.addEventListener('click', () => {
  document.querySelectorAll('nav button').forEach((x) => x.classList.toggle('on', x === b));
  document.querySelectorAll('.tab').forEach((s) => s.classList.toggle('on', s.id === 'tab-' + b.dataset.tab));
}));

// ------------------------------------------------------------ hazard report
$('#hz-place').innerHTML = CFG.places.map((p, k) => `<option value="${k}">${esc(p.name)}</option>`).join('');

$('#hazard-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const place = CFG.places[Number($('#hz-place').value)] || {x: 0, y: 0, name: ''};
  const title = $('#hz-title').value.trim();
  const description = [$('#hz-desc').value.trim(), place.name ? `(${place.name})` : ''].filter(Boolean).join(' ');
  const body = {title, category: $('#hz-category').value, level: $('#hz-level').value, x: place.x, y: place.y,
                description, captured_at: new Date().toISOString(), photos: []};
  const files = [...$('#hz-photo').files];
  ev.target.reset();
  await capture('hazard', 'field/hazards', body, files, `${T('fd_what_hazard')}: ${title}`);
});

// ------------------------------------------------------------ inspection round
let rounds = local.get('rounds', []);
let picked = {round: null, cp: null};
let codeMethod = 'manual';

async function loadRounds() {
  try {
    rounds = await getJSON(API + 'field/rounds');
    local.set('rounds', rounds);
  } catch (e) { /* offline: the last list */ }
  $('#rounds').innerHTML = rounds.length ? rounds.map((r) => `<button type="button" class="round-item" data-id="${esc(r.id)}">`
    + `<b>${esc(r.route)}</b> — ${esc(T('fd_due', {t: new Date(r.due_at).toLocaleString()}))}</button>`).join('')
    : `<p>${esc(T('fd_no_rounds'))}</p>`;
  await render();
}

function checklistHtml(items) {
  return items.map((i) => {
    const text = esc(i.text[CFG.lang] || i.text.en);
    const id = esc(i.id);
    if (i.kind === 'reading') {
      return `<div class="item" data-item="${id}" data-kind="reading">${text} [${esc(i.unit)}] <small>${i.min}–${i.max}</small>`
        + `<input type="number" step="any" inputmode="decimal" name="v-${id}"></div>`;
    }
    return `<div class="item" data-item="${id}" data-kind="check">${text}<div class="choices">`
      + `<label><input type="radio" name="c-${id}" value="ok">${esc(T('fd_ok'))}</label>`
      + `<label><input type="radio" name="c-${id}" value="bad">${esc(T('fd_not_ok'))}</label></div></div>`;
  }).join('');
}

function renderRound(mine) {
  const r = rounds.find((x) => x.id === picked.round);
  $('#round-detail').hidden = !r;
  if (!r) return;
  $('#round-name').textContent = r.route;
  const queued = new Set(mine.filter((i) => i.kind === 'scan' && i.round === r.id).map((i) => i.checkpoint));
  $('#checkpoints').innerHTML = r.checkpoints.map((c) => {
    const st = c.scanned ? 'scanned' : (queued.has(c.id) ? 'queued' : '');
    const label = st ? T(st === 'scanned' ? 'fd_scanned' : 'fd_waiting') : '';
    return `<li data-id="${esc(c.id)}" class="${st}${c.id === picked.cp ? ' picked' : ''}">${esc(c.name)}`
      + ` <span class="st">${esc(label)}</span></li>`;
  }).join('');
  const cp = r.checkpoints.find((c) => c.id === picked.cp);
  const form = $('#scan-form');
  form.hidden = !cp;
  if (cp && form.dataset.cp !== cp.id) {
    form.dataset.cp = cp.id;
    form.reset();
    codeMethod = 'manual';
    $('#cp-name').textContent = cp.name;
    $('#checklist').innerHTML = checklistHtml(cp.checklist);
  }
}

$('#rounds').addEventListener('click', (ev) => {
  const b = ev.target.closest('.round-item');
  if (b) { picked = {round: b.dataset.id, cp: null}; render(); }
});
$('#checkpoints').addEventListener('click', (ev) => {
  const li = ev.target.closest('li');
  if (li) { picked.cp = li.dataset.id; render(); }
});
$('#all-ok').addEventListener('click', () => {
  document.querySelectorAll('#checklist input[value="ok"]').forEach((el) => { el.checked = true; });
});
$('#scan-code').addEventListener('input', () => { codeMethod = 'manual'; });

$('#scan-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = rounds.find((x) => x.id === picked.round);
  const cp = r && r.checkpoints.find((c) => c.id === picked.cp);
  if (!cp) { notice(T('fd_pick_checkpoint'), true); return; }
  const answers = [];
  for (const el of document.querySelectorAll('#checklist .item')) {
    const input = el.querySelector(el.dataset.kind === 'check' ? 'input:checked' : 'input');
    if (!input || input.value === '') { notice(T('fd_answer_all'), true); return; }
    answers.push(el.dataset.kind === 'check' ? {item_id: el.dataset.item, ok: input.value === 'ok'}
                                             : {item_id: el.dataset.item, value: Number(input.value)});
  }
  const body = {code: $('#scan-code').value.trim(), method: codeMethod, scanned_at: new Date().toISOString(), answers,
                photos: []};
  const files = [...$('#scan-photo').files];
  picked.cp = null;
  ev.target.dataset.cp = '';
  await capture('scan', `field/rounds/${encodeURIComponent(r.id)}/scans`, body, files, `${T('fd_what_scan')}: ${cp.name}`,
                {round: r.id, checkpoint: cp.id});
});

$('#round-complete').addEventListener('click', async () => {
  const r = rounds.find((x) => x.id === picked.round);
  if (r) {
    await capture('complete', `inspections/rounds/${encodeURIComponent(r.id)}/complete`, null, [],
                  `${T('fd_what_complete')}: ${r.route}`, {round: r.id});
  }
});

/* A camera QR reader where the browser has one (BarcodeDetector): a photo of the label fills the code. */
if ('BarcodeDetector' in window) {
  $('#scan-qr').hidden = false;
  $('#scan-qr').addEventListener('click', () => $('#qr-photo').click());
  $('#qr-photo').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    try {
      const found = await new window.BarcodeDetector({formats: ['qr_code']}).detect(await createImageBitmap(file));
      if (found.length) { $('#scan-code').value = found[0].rawValue; codeMethod = 'qr'; }
    } catch (e) { notice(String(e), true); }
    ev.target.value = '';
  });
}

// ------------------------------------------------------------ gas test on a permit
let permits = local.get('permits', []);

async function loadPermits() {
  try {
    permits = await getJSON(API + 'field/permits');
    local.set('permits', permits);
  } catch (e) { /* offline: the last list */ }
  const sel = $('#gas-permit');
  const keep = sel.value;
  sel.innerHTML = permits.length
    ? permits.map((p) => `<option value="${esc(p.id)}">${esc(p.id)} — ${esc(p.title)} (${esc(p.state)})</option>`).join('')
    : `<option value="">${esc(T('fd_no_permits'))}</option>`;
  if (keep && permits.some((p) => p.id === keep)) sel.value = keep;
  renderPermit();
}

/* The chosen permit's state, and the signature its state asks for next (the server checks who may sign). */
function renderPermit() {
  const p = permits.find((x) => x.id === $('#gas-permit').value);
  $('#permit-info').textContent = p ? T('fd_permit_state', {state: p.state, step: p.next_step || '—', tests: p.gas_tests}) : '';
  document.querySelectorAll('#sign button').forEach((b) => { b.hidden = !p || b.dataset.when !== p.state; });
}

$('#gas-permit').addEventListener('change', renderPermit);
$('#sign').addEventListener('click', async (ev) => {
  const b = ev.target.closest('button');
  const pid = $('#gas-permit').value;
  if (!b || !pid) return;
  await capture('sign', `field/permits/${encodeURIComponent(pid)}/sign`,
                {action: b.dataset.action, captured_at: new Date().toISOString()}, [], `${T('fd_sign_' + b.dataset.action)} (${pid})`);
});

$('#gas-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const pid = $('#gas-permit').value;
  const now = new Date().toISOString();
  const body = {gas: $('#gas-name').value.trim(), value: Number($('#gas-value').value), unit: $('#gas-unit').value,
                sampled_at: now, captured_at: now, instrument_id: $('#gas-instrument').value.trim() || null};
  $('#gas-value').value = '';
  await capture('gas', `field/permits/${encodeURIComponent(pid)}/gas-tests`, body, [],
                `${T('fd_what_gas')}: ${body.gas} ${body.value} ${body.unit} (${pid})`);
});

// ------------------------------------------------------------ start
$('#sync').addEventListener('click', () => sync());
window.addEventListener('online', () => { setNet(true); sync(); });
window.addEventListener('offline', () => setNet(false));
setInterval(async () => { if ((await outbox.mine()).length) sync(); }, 20000);
setNet(navigator.onLine);
loadRounds();
loadPermits();
sync();
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register(`${CFG.prefix}/field-sw.js?v=${CFG.version}`, {scope: CFG.prefix + '/field'})
    .catch(() => { /* HTTP without TLS: no service worker, the outbox still works */ });
}
