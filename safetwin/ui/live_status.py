"""The control room's clock and staleness banner, judged in the browser.

Core object: :class:`LiveStatus`, a small Panel ``JSComponent``. The server sets ``beat`` on every
update of the session (and ``twin_ts``, ``feed_age_s``); the browser's own timer shows the banner
when

* no beat arrived for ``view_stale_s`` seconds (the view itself is stale: the server, the
  connection or the page fell behind — the server cannot say so once it stops talking), or
* the live feed delivered nothing for ``feed_stale_s`` seconds (the bridge or the plant's
  traffic stopped), or
* the twin time shown is more than ``lag_stale_s`` seconds behind the browser's wall clock.

The clock is drawn as ``<span class="twin-clock" data-twin-ts="…">`` (twin time, s since the Unix
epoch) so tests and the benchmark read exactly what the page shows.
"""
from __future__ import annotations

import param
from panel.custom import JSComponent

__all__ = ["LiveStatus"]


class LiveStatus(JSComponent):
    """Clock, people on board and the staleness banner (see the module docstring)."""

    beat = param.Integer(default=0, doc="incremented by the server at every update of the session")
    twin_ts = param.Number(default=0.0, doc="twin time shown (s since the Unix epoch, UTC)")
    feed_age_s = param.Number(default=None, allow_None=True, doc="seconds since the live feed's last message")
    view_stale_s = param.Number(default=3.0, doc="banner when no update arrived for this long (s)")
    feed_stale_s = param.Number(default=2.0, doc="banner when the feed was silent this long (s)")
    lag_stale_s = param.Number(default=5.0, doc="banner when the twin time is this far behind (s)")
    text = param.Dict(default={}, doc="translated texts: clock, view_stale, feed_stale, lag")

    _esm = """
    export function render({ model, el }) {
      const bar = document.createElement('div');
      bar.style.cssText = 'display:flex;align-items:center;gap:14px;font-size:14px';
      const label = document.createElement('b');
      const clock = document.createElement('span');
      clock.className = 'twin-clock';
      clock.style.cssText = 'font-family:monospace;font-size:15px';
      const banner = document.createElement('div');
      banner.className = 'stale-banner';
      banner.setAttribute('role', 'alert');
      banner.style.cssText = 'display:none;background:#fff3a0;border:2px solid #1a1a1a;color:#1a1a1a;' +
        'font-weight:700;padding:4px 10px';
      bar.append(label, clock, banner);
      el.append(bar);
      let lastBeat = Date.now();
      const pad = (n) => String(n).padStart(2, '0');
      const draw = () => {
        const t = model.text || {};
        label.textContent = (t.clock || 'Twin time') + ':';
        const ts = model.twin_ts;
        if (ts > 0) {
          const d = new Date(ts * 1000);
          clock.textContent = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' UTC';
          clock.setAttribute('data-twin-ts', ts.toFixed(1));
        } else {
          clock.textContent = '—';
        }
        const now = Date.now();
        const reasons = [];
        const viewAge = (now - lastBeat) / 1000;
        if (viewAge > model.view_stale_s)
          reasons.push((t.view_stale || 'View not updating for {s} s').replace('{s}', viewAge.toFixed(0)));
        const feed = model.feed_age_s;
        if (feed !== null && feed !== undefined && feed > model.feed_stale_s)
          reasons.push((t.feed_stale || 'No live data for {s} s').replace('{s}', (feed + viewAge).toFixed(0)));
        const lag = ts > 0 ? now / 1000 - ts : 0;
        if (ts > 0 && lag > model.lag_stale_s && viewAge <= model.view_stale_s)
          reasons.push((t.lag || 'Twin time {s} s behind').replace('{s}', lag.toFixed(0)));
        banner.textContent = reasons.join(' · ');
        banner.style.display = reasons.length ? 'block' : 'none';
        el.classList.toggle('stale', reasons.length > 0);
      };
      model.on('beat', () => { lastBeat = Date.now(); draw(); });
      model.on(['twin_ts', 'feed_age_s', 'text'], draw);
      const timer = setInterval(draw, 500);
      model.on('remove', () => clearInterval(timer));
      draw();
    }
    """
