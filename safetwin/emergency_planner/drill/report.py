"""The drill evaluation report: one self-contained HTML page (no scripts, no external resources;
bilingual headings) and its PDF printed by headless Chromium (:func:`safetwin.pdf.html_to_pdf`).

Sections: summary (score, grade, HSEEP ratings), indicators recorded vs baseline, findings with
the improvement plan (corrective action, capability element, owner, due), the people the findings
name (not accounted for, late), a chart of cumulative muster arrivals (inline SVG, recorded vs
baseline) and the timeline.

Example::

    >>> svg = arrivals_svg([10.0, 20.0, float("inf")], [8.0, 15.0, 30.0], expected=3)
    >>> svg.startswith("<svg") and "polyline" in svg
    True
"""
from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["report_html", "report_pdf", "arrivals_svg", "write_report"]

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","WenQuanYi Micro Hei","DejaVu Sans",sans-serif;margin:24px;color:#222;font-size:12px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px;border-bottom:2px solid #345;padding-bottom:2px}
table{border-collapse:collapse;width:100%;margin:4px 0}th,td{border:1px solid #bbb;padding:3px 5px;text-align:left;vertical-align:top}
th{background:#e8edf3}.num{text-align:right}.card{display:inline-block;border:1px solid #345;border-radius:6px;padding:8px 14px;margin:4px 8px 4px 0}
.big{font-size:26px;font-weight:bold}.sev-不足项{background:#f8d0d0}.sev-整改项{background:#fde9c4}.sev-改进项{background:#e3f0da}
.r-P{background:#cdebc5}.r-S{background:#e9f3c4}.r-M{background:#fde2b8}.r-U{background:#f6c4c4}.muted{color:#666}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _v(v: Any, unit: str = "") -> str:
    if v is None:
        return "—"
    if v == "inf" or (isinstance(v, float) and math.isinf(v)):
        return "never / 未完成"
    if isinstance(v, float):
        s = f"{v:.2f}" if unit == "×" or abs(v) < 10 else f"{v:.0f}"
    else:
        s = str(v)
    return f"{s} {unit}".strip()


def arrivals_svg(recorded_s: list[float], baseline_s: list[float] | None, expected: int,
                 width: int = 640, height: int = 260) -> str:
    """Cumulative muster arrivals over time (s), recorded (blue) vs baseline (grey dashed), with the
    expected head count as a red line; an inline SVG string."""
    rec = np.sort(np.asarray([v for v in recorded_s if v not in ("inf", None)], float))
    rec = rec[np.isfinite(rec)]
    base = np.asarray([v for v in (baseline_s or []) if v not in ("inf", None)], float)
    base = np.sort(base[np.isfinite(base)])
    t_max = max([1.0] + [float(a.max()) for a in (rec, base) if a.size]) * 1.05
    n_max = max(expected, rec.size, base.size, 1) * 1.1
    L, R, T, B = 52, 12, 14, 34
    w, h = width - L - R, height - T - B

    def pts(a: np.ndarray) -> str:
        if not a.size:
            return ""
        t = np.repeat(np.r_[0.0, a], 2)[1:]
        n = np.repeat(np.arange(a.size + 1), 2)[:-1]
        t = np.r_[t, t_max]
        n = np.r_[n, a.size]
        x, y = L + w * t / t_max, T + h * (1 - n / n_max)
        return " ".join(f"{a_:.1f},{b_:.1f}" for a_, b_ in zip(x, y))

    ticks = []
    step = _nice_step(t_max / 6)
    for k in np.arange(0, t_max, step):
        x = L + w * k / t_max
        ticks.append(f'<line x1="{x:.1f}" y1="{T + h}" x2="{x:.1f}" y2="{T + h + 4}" stroke="#333"/>'
                     f'<text x="{x:.1f}" y="{T + h + 16}" font-size="10" text-anchor="middle">{k:.0f}</text>')
    nstep = _nice_step(n_max / 5)
    for k in np.arange(0, n_max, nstep):
        y = T + h * (1 - k / n_max)
        ticks.append(f'<line x1="{L - 4}" y1="{y:.1f}" x2="{L + w}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{L - 6}" y="{y + 3:.1f}" font-size="10" text-anchor="end">{k:.0f}</text>')
    ye = T + h * (1 - expected / n_max)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="muster arrivals">',
             f'<rect x="{L}" y="{T}" width="{w}" height="{h}" fill="#fafafa" stroke="#333"/>', *ticks,
             f'<line x1="{L}" y1="{ye:.1f}" x2="{L + w}" y2="{ye:.1f}" stroke="#c0392b" stroke-dasharray="2,3"/>',
             f'<text x="{L + w - 4}" y="{ye - 4:.1f}" font-size="10" text-anchor="end" fill="#c0392b">'
             f'expected {expected} / 应到人数</text>']
    if base.size:
        parts.append(f'<polyline points="{pts(base)}" fill="none" stroke="#888" stroke-width="2" '
                     f'stroke-dasharray="6,4"/>')
    if rec.size:
        parts.append(f'<polyline points="{pts(rec)}" fill="none" stroke="#1f5fa8" stroke-width="2.5"/>')
    parts += [f'<text x="{L + w / 2}" y="{height - 4}" font-size="11" text-anchor="middle">'
              f'time from t0 / 演练开始后时间 (s)</text>',
              f'<text x="12" y="{T + h / 2}" font-size="11" text-anchor="middle" '
              f'transform="rotate(-90 12 {T + h / 2})">people mustered / 集合人数</text>',
              f'<line x1="{L + 8}" y1="{T + 10}" x2="{L + 30}" y2="{T + 10}" stroke="#1f5fa8" stroke-width="2.5"/>'
              f'<text x="{L + 34}" y="{T + 13}" font-size="10">recorded / 实际</text>',
              f'<line x1="{L + 120}" y1="{T + 10}" x2="{L + 142}" y2="{T + 10}" stroke="#888" stroke-width="2" '
              f'stroke-dasharray="6,4"/><text x="{L + 146}" y="{T + 13}" font-size="10">baseline / 模拟基线</text>',
              "</svg>"]
    return "".join(parts)


def _short(v: Any) -> str:
    """A detail value for the timeline: floats to 4 significant digits."""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _nice_step(raw: float) -> float:
    mag = 10 ** math.floor(math.log10(max(raw, 1e-9)))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def people_rows(findings: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(person, finding, what, severity) for every person a finding names: each one not accounted
    for (last seen) and each late musterer (area, arrival vs plan)."""
    out = []
    for f in findings:
        ev = f.get("evidence") or {}
        for p in ev.get("missing") or []:
            out.append((p["id"], f["id"], f"not accounted for / 未清点到 — last seen ({p['x_m']:.0f}, {p['y_m']:.0f}) m "
                        f"at {p['t_s']:.0f} s", f["severity"]))
        for pid in ev.get("never_tracked") or []:
            out.append((pid, f["id"], "not accounted for / 未清点到 — never tracked", f["severity"]))
        for r in ev.get("late") or []:
            out.append((r["id"], f["id"], f"late / 迟到 +{r['delay_s']:.0f} s ({ev.get('area', '')}: at "
                        f"{r['arrival_s']:.0f} s, plan {r['plan_s']:.0f} s)", f["severity"]))
    return out


def report_html(ev: dict[str, Any], title: str = "") -> str:
    """The report of an evaluation (``Evaluation.to_dict()``) as a self-contained HTML page."""
    m = ev["metrics"]
    title = title or f"Drill evaluation / 演练评估报告 — {ev.get('scenario') or ev.get('drill_id')}"
    rate = "".join(f'<td class="r-{_e(md["rating"])}">{_e(md["rating"] or "n/a")}</td>' for md in ev["modules"])
    mods = "".join(f"<th>{_e(md['name'])}<br><span class='muted'>{_e(md['capability'])}</span></th>"
                   for md in ev["modules"])
    pts = "".join(f"<td class='num'>{'—' if md['points'] is None else md['points']} / {md['weight']:g}</td>"
                  for md in ev["modules"])
    ind_rows = "".join(
        f"<tr class='sev-{_e(r['severity'] or '')}'><td>{_e(r['module'])}</td><td>{_e(r['name'])}</td>"
        f"<td class='num'>{_e(_v(r['value'], r['unit']))}</td><td class='num'>{_e(_v(r['baseline_value'], r['unit']))}</td>"
        f"<td class='num'>{'—' if r['score'] is None else r['score']}</td>"
        f"<td class='num'>{'—' if r['baseline_score'] is None else r['baseline_score']}</td>"
        f"<td class='num'>{r['weight']:g}</td><td>{_e(r['severity'] or '')}</td></tr>" for r in ev["indicators"])
    find_rows = "".join(
        f"<tr class='sev-{_e(f['severity'])}'><td>{_e(f['id'])}</td><td>{_e(f['severity'])}</td>"
        f"<td>{_e(f['module_name'])}<br><span class='muted'>{_e(f['capability'])}</span></td><td>{_e(f['text'])}</td>"
        f"<td>{_e(f['action'])}</td><td>{_e(f['capability_element'])}</td><td>{_e(f['owner'])}</td>"
        f"<td>{_e(f['start'])}</td><td>{_e(f['due'])}</td></tr>" for f in ev["findings"]) or \
        "<tr><td colspan='9'>No findings / 无</td></tr>"
    people = people_rows(ev["findings"])
    people_html = ("<h2>People to follow up / 需跟进人员</h2><table><tr><th>person / 人员</th><th>finding</th>"
                   "<th>what / 情况</th><th>grade / 类别</th></tr>" + "".join(
                       f"<tr class='sev-{_e(sev)}'><td>{_e(pid)}</td><td>{_e(fid)}</td><td>{_e(what)}</td>"
                       f"<td>{_e(sev)}</td></tr>" for pid, fid, what, sev in people) + "</table>") if people else ""
    tl_rows = "".join(f"<tr><td class='num'>{t['t_s']:.0f}</td><td>{_e(t['kind'])}</td><td>{_e(t['source'])}</td>"
                      f"<td>{_e(', '.join(f'{k}={_short(v)}' for k, v in (t.get('detail') or {}).items()))}</td></tr>"
                      for t in ev["timeline"][:200])
    cmp_ = ev.get("comparison") or {}
    cmp_html = ""
    if cmp_.get("common_people"):
        cmp_html = (f"<p>Compared with the simulated baseline of the same scenario / 与同一情景模拟基线对比: "
                    f"{cmp_['compared']} people in both; {cmp_.get('delayed', 0)} mustered more than "
                    f"{cmp_.get('delayed_over_s', 60):.0f} s later (mean delay "
                    f"{_v(cmp_.get('mean_delay_s'), 's')}, max {_v(cmp_.get('max_delay_s'), 's')}); "
                    f"not mustered in the drill: {_e(', '.join(cmp_.get('missing_in_recorded') or []) or 'none')}.</p>")
    svg = arrivals_svg(ev.get("arrivals_s") or [], ev.get("baseline_arrivals_s") or [],
                       int(m.get("expected_headcount") or 0))
    n_sev = {s: sum(1 for f in ev["findings"] if f["severity"] == s) for s in ("不足项", "整改项", "改进项")}
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
            f"<p class='muted'>drill {_e(ev.get('drill_id') or '—')} · {_e(ev['source'])} · t0 {_e(ev.get('t0') or '—')}"
            f" · evaluated {_e(ev['evaluated_at'][:19])} UTC · {_e(ev['config'])}</p>"
            f"<h2>Summary / 评估结论</h2>"
            f"<div class='card'>score / 得分<div class='big'>{ev['score']:.1f}</div></div>"
            f"<div class='card'>grade / 等级<div class='big'>{_e(ev['grade'])}</div></div>"
            f"<div class='card'>不足项 {n_sev['不足项']} · 整改项 {n_sev['整改项']} · 改进项 {n_sev['改进项']}</div>"
            f"<div class='card'>mustered / 到达集合点 <b>{m.get('mustered')}</b> of {m.get('expected_headcount')}"
            f" · alarm / 报警 {_e(_v(m.get('alarm_s'), 's'))}</div>"
            f"<table><tr><th></th>{mods}</tr><tr><th>points / 得分</th>{pts}</tr>"
            f"<tr><th>HSEEP rating</th>{rate}</tr></table>"
            f"<h2>Indicators / 评估指标 (recorded vs baseline / 实际与基线)</h2>"
            f"<table><tr><th>module</th><th>indicator / 指标</th><th>recorded</th><th>baseline</th><th>score</th>"
            f"<th>baseline score</th><th>weight</th><th>finding</th></tr>{ind_rows}</table>"
            f"<h2>Muster arrivals / 集合到达曲线</h2>{svg}{cmp_html}"
            f"<h2>Findings and improvement plan / 问题与整改计划</h2>"
            f"<table><tr><th>#</th><th>grade / 类别</th><th>module / capability</th><th>finding / 问题</th>"
            f"<th>corrective action / 纠正措施</th><th>element</th><th>owner / 责任人</th><th>start</th>"
            f"<th>due / 期限</th></tr>{find_rows}</table>{people_html}"
            f"<h2>Timeline / 时间线</h2><table><tr><th>t (s)</th><th>event</th><th>source</th><th>detail</th></tr>"
            f"{tl_rows}</table></body></html>")


def report_pdf(ev: dict[str, Any], title: str = "", timeout_s: float = 60.0, *,
               chromium: str | Path | None = None) -> bytes:
    """The report printed to PDF with headless Chromium (``chromium``: its executable, default
    found by :func:`safetwin.pdf.chromium_path`; RuntimeError when Chromium is missing)."""
    from safetwin.pdf import html_to_pdf

    return html_to_pdf(report_html(ev, title), timeout_s, chromium=chromium)


def write_report(ev: dict[str, Any], out_dir: str | Path, pdf: bool = True, *,
                 chromium: str | Path | None = None) -> dict[str, Path]:
    """Write ``report.html`` (and ``report.pdf``, printed by ``chromium``) for an evaluation dict into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = report_html(ev)
    paths = {"html": out / "report.html"}
    paths["html"].write_text(doc, encoding="utf-8")
    if pdf:
        from safetwin.pdf import html_to_pdf

        paths["pdf"] = out / "report.pdf"
        paths["pdf"].write_bytes(html_to_pdf(doc, chromium=chromium))
    return paths
