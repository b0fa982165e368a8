"""Print self-contained HTML to PDF with headless Chromium (shared by the manager report and the
drill report).

Example (needs Chromium)::

    >>> pdf = html_to_pdf("<html><body><h1>Hello</h1></body></html>")   # doctest: +SKIP
    >>> pdf[:5]                                                          # doctest: +SKIP
    b'%PDF-'
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["html_to_pdf", "chromium_path"]


def chromium_path(configured: str | Path | None = None) -> str | None:
    """The Chromium executable: ``configured`` (the app passes ``SAFETWIN_CHROMIUM``) when it exists,
    else /usr/bin/chromium, else ``chromium`` on PATH; None when there is none."""
    for exe in (configured, "/usr/bin/chromium"):
        if exe and Path(exe).exists():
            return str(exe)
    return shutil.which("chromium")


def html_to_pdf(report: str, timeout_s: float = 60.0, *, chromium: str | Path | None = None) -> bytes:
    """Print an HTML document to PDF (A4 by Chromium's default) with the Chromium of
    :func:`chromium_path`; RuntimeError when that is not possible."""
    exe = chromium_path(chromium)
    if not exe:
        raise RuntimeError("PDF export needs Chromium (apt-get install chromium) or SAFETWIN_CHROMIUM")
    with tempfile.TemporaryDirectory(prefix="safetwin-report-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(report, encoding="utf-8")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
               f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}", src.as_uri()]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout_s)
        except (subprocess.SubprocessError, OSError) as exc:
            raise RuntimeError(f"Chromium could not print the report: {exc}") from None
        if not out.exists():
            raise RuntimeError("Chromium printed no PDF")
        return out.read_bytes()
