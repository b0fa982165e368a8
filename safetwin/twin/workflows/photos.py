"""Photo evidence of the field pages: validated, content-addressed files outside the database.

:meth:`PhotoStore.put` accepts an upload only when

1. it is not empty and at most ``max_bytes`` long (else ``too_large``, HTTP 413);
2. its first bytes are those of a JPEG, PNG or WebP image — the type is read from the content,
   never from the file name or the declared content type (else ``wrong_type``, 415, naming what
   the bytes look like);
3. it decodes completely with Pillow as that format and has at most ``max_pixels`` pixels
   (else ``malformed``, 422: truncated, corrupt, a decompression bomb).

An accepted photo is written once under ``root/<2 hex>/<sha-256>.<ext>`` (atomic rename) and
named ``sha256:<hex>``; the same bytes uploaded twice give the same name and one file — which is
what makes an offline upload retried after a lost answer harmless. Every refusal is logged with
who sent what and why, and counted by reason (:attr:`PhotoStore.counts`).

Example::

    >>> import io, tempfile
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 3), "red").save(buf, "PNG")
    >>> store = PhotoStore(tempfile.mkdtemp())
    >>> ref = store.put(buf.getvalue(), uploader="ann", filename="leak.jpg")
    >>> ref.media_type, (ref.width, ref.height), store.put(buf.getvalue(), uploader="ann").id == ref.id
    ('image/png', (4, 3), True)
    >>> try:
    ...     store.put(b"%PDF-1.7 ...", uploader="ann", filename="leak.jpg")
    ... except PhotoRejected as e:
    ...     print(e.code, e.status, "|", e)
    wrong_type 415 | leak.jpg: not a JPEG, PNG or WebP image (the content looks like PDF); the file name does not matter
    >>> store.counts["accepted"], store.counts["duplicate"], store.counts["wrong_type"]
    (1, 1, 1)
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import GuardFailed

log = logging.getLogger("safetwin.workflows.photos")

MAX_BYTES = 8 * 1024 * 1024       # a phone JPEG is 2-5 MB; larger is refused
MAX_PIXELS = 50_000_000           # 50 Mpx; larger images are refused as possible decompression bombs
#: image type → (leading byte signatures, file extension, Pillow format name)
KINDS: dict[str, tuple[tuple[bytes, ...], str, str]] = {
    "image/jpeg": ((b"\xff\xd8\xff",), "jpg", "JPEG"),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), "png", "PNG"),
    "image/webp": ((), "webp", "WEBP"),                       # RIFF....WEBP, checked in sniff()
}
#: what a refused upload's first bytes look like, for the error message
LOOKS_LIKE = ((b"%PDF", "PDF"), (b"GIF8", "GIF"), (b"PK\x03\x04", "ZIP / Office document"), (b"BM", "BMP"),
              (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x7fELF", "an executable"), (b"MZ", "an executable"),
              (b"<", "HTML / XML text"), (b"{", "JSON text"))
PHOTO_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


class PhotoRejected(GuardFailed):
    """A refused upload; ``code`` is ``empty``, ``too_large``, ``wrong_type`` or ``malformed``."""

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message, code)
        self.status = status


@dataclass(frozen=True)
class PhotoRef:
    """A stored photo: ``id`` (``sha256:<hex>``), media type, size (bytes) and pixel size."""

    id: str
    media_type: str
    size_bytes: int
    width: int
    height: int
    duplicate: bool = False


def sniff(head: bytes) -> str | None:
    """The image media type the leading bytes announce (JPEG, PNG, WebP), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for media, (sigs, _ext, _fmt) in KINDS.items():
        if any(head.startswith(s) for s in sigs):
            return media
    return None


def _looks_like(head: bytes) -> str:
    text = head.lstrip()
    return next((name for sig, name in LOOKS_LIKE if text.startswith(sig)), "unknown binary data")


class PhotoStore:
    """Validated photo files under ``root`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _refuse(self, message: str, code: str, status: int, uploader: str, filename: str | None) -> PhotoRejected:
        with self._lock:
            self.counts[code] += 1
        log.warning("photo upload by %s (%s) refused: %s", uploader, filename or "no file name", message)
        return PhotoRejected(message, code, status)

    def refuse_oversized(self, size_bytes: int, *, uploader: str, filename: str | None = None) -> PhotoRejected:
        """The counted, logged refusal of an upload found over the limit while it was being read."""
        return self._refuse(f"{filename or 'upload'}: over {size_bytes / 1e6:.1f} MB, the limit is "
                            f"{self.max_bytes / 1e6:.1f} MB", "too_large", 413, uploader, filename)

    def put(self, data: bytes, *, uploader: str, filename: str | None = None) -> PhotoRef:
        """Validate and store an upload; :class:`PhotoRejected` (counted, logged) when it is refused."""
        name = filename or "upload"
        if not data:
            raise self._refuse(f"{name}: the upload is empty", "empty", 422, uploader, filename)
        if len(data) > self.max_bytes:
            raise self.refuse_oversized(len(data), uploader=uploader, filename=filename)
        media = sniff(data[:16])
        if media is None:
            raise self._refuse(f"{name}: not a JPEG, PNG or WebP image (the content looks like "
                               f"{_looks_like(data[:16])}); the file name does not matter", "wrong_type", 415,
                               uploader, filename)
        width, height = self._decode(data, media, name, uploader, filename)
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest, KINDS[media][1])
        duplicate = path.exists()
        if not duplicate:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        with self._lock:
            self.counts["duplicate" if duplicate else "accepted"] += 1
        return PhotoRef(f"sha256:{digest}", media, len(data), width, height, duplicate)

    def _decode(self, data: bytes, media: str, name: str, uploader: str, filename: str | None) -> tuple[int, int]:
        """Decode the whole image with Pillow; (width, height) or a ``malformed`` refusal."""
        try:
            from PIL import Image, ImageFile
        except ImportError:          # Pillow is a core dependency; without it only the signature is checked
            log.warning("Pillow missing: photo %s accepted on its signature alone", name)
            return 0, 0
        if ImageFile.LOAD_TRUNCATED_IMAGES:
            raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; truncated photos would pass")
        fmt = KINDS[media][2]
        try:
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                w, h = im.size
                if w * h > self.max_pixels:
                    raise ValueError(f"{w}x{h} px is over the limit of {self.max_pixels / 1e6:g} Mpx")
                im.load()              # decodes every pixel: truncated or corrupt data fails here
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise self._refuse(f"{name}: a {fmt} header but not a decodable image ({exc})", "malformed", 422,
                               uploader, filename) from None
        return w, h

    def _path(self, digest: str, ext: str) -> Path:
        return self.root / digest[:2] / f"{digest}.{ext}"

    def find(self, photo_id: str) -> tuple[Path, str] | None:
        """The file and media type of a stored photo, or None (also for a malformed id)."""
        if not PHOTO_ID.match(photo_id):
            return None
        digest = photo_id.split(":", 1)[1]
        for media, (_sigs, ext, _fmt) in KINDS.items():
            p = self._path(digest, ext)
            if p.exists():
                return p, media
        return None

    def check_ids(self, photo_ids: list[str]) -> None:
        """:class:`GuardFailed` naming the first id that is not a stored photo."""
        for pid in photo_ids:
            if self.find(pid) is None:
                raise GuardFailed(f"photo {pid!r} was not uploaded (upload it first: POST /field/photos)", "unknown_photo")
