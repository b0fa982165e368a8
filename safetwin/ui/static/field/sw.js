/* SafeTwin field page service worker: keeps the page's shell so that it opens without network.
   The page is fetched from the network first (a fresh copy replaces the cached one); its script,
   style and manifest come from the cache named after the release (?v=). API calls are never cached:
   captures travel through the page's own outbox. */
'use strict';
const VERSION = new URL(self.location).searchParams.get('v') || '0';
const BASE = self.location.pathname.replace(/\/field-sw\.js$/, '');
const CACHE = 'safetwin-field-' + VERSION;
const PAGE = BASE + '/field';
const SHELL = [BASE + '/field/app.js?v=' + VERSION, BASE + '/field/app.css?v=' + VERSION,
               BASE + '/field/manifest.webmanifest', BASE + '/field/icon.svg'];

/* The page itself is cached when it is fetched signed in (not the login page a redirect gives). */
function keepPage(cache, resp) {
  if (!resp.ok || resp.redirected) return Promise.resolve();
  return cache.put(PAGE, resp);
}

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE)
    .then((c) => c.addAll(SHELL).then(() => fetch(PAGE, {credentials: 'same-origin'}).then((r) => keepPage(c, r), () => null)))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('safetwin-field-') && k !== CACHE)
                                    .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith(BASE + '/field/api/')
      || url.pathname === BASE + '/field/me') {
    return;
  }
  if (req.mode === 'navigate' && url.pathname === PAGE) {
    ev.respondWith(fetch(req).then((resp) => caches.open(CACHE).then((c) => keepPage(c, resp.clone())).then(() => resp))
      .catch(() => caches.open(CACHE).then((c) => c.match(PAGE)).then((hit) => hit || Response.error())));
    return;
  }
  ev.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
});
