"""Field captures sent from phones, each applied once however often it is sent (offline sync).

A phone gives every capture (a hazard report, a checkpoint scan, a gas test, a permit signature)
an idempotency key when it is made, and sends it — at once, or from its outbox when the network
is back, possibly more than once (a lost answer, a page reload). :meth:`CaptureJournal.once`
claims the key in a journal record (``FC-<hash of site, user, key>``: the insert of a new record
is atomic, so of two concurrent sends only one claims it), applies the capture, and writes the
outcome — ``applied`` with the record it made, or ``refused`` with the reason the rule gave. A
later send of the same key gets that outcome back (``duplicate``) and changes nothing. A claim
left by a process that died mid-way is taken over after :data:`CLAIM_TIMEOUT`; the actions
themselves are idempotent by key too (the hazard's id is derived from the key, a scan's key is kept
on the round, a gas test is matched by its own content), so a take-over cannot double a record.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import InvalidTransition, NotFound, WorkflowError
from ..field_domain import FieldCapture
from ..roles import Actor
from .context import RecordService

CLAIM_TIMEOUT = timedelta(seconds=60)


@dataclass(frozen=True)
class Outcome:
    """What became of a capture: ``status`` (``applied``, ``duplicate``, ``refused``), the record it
    made or changed (kind, id), and for a refusal the HTTP status, code and reason."""

    status: str
    capture_id: str
    result_kind: str | None = None
    result_id: str | None = None
    http_status: int = 200
    code: str = ""
    detail: str = ""

    def to_dict(self) -> dict:
        return {"status": self.status, "capture": self.capture_id, "kind": self.result_kind, "id": self.result_id,
                "http_status": self.http_status, "code": self.code, "detail": self.detail}


def capture_id(site_id: str, user_id: str, client_key: str) -> str:
    """The journal id of one user's capture key on a site."""
    return "FC-" + hashlib.sha256(f"{site_id}|{user_id}|{client_key}".encode()).hexdigest()[:24].upper()


class CaptureJournal(RecordService):
    """Applies field captures once (see the module docstring)."""

    def once(self, actor: Actor, client_key: str, action: str, apply: Callable[[], tuple[str, str]], *,
             captured_at: datetime | None = None, target_id: str | None = None) -> Outcome:
        """Apply ``apply`` (returning the kind and id of the record it made or changed) once per
        (user, ``client_key``); a refusal by the rules is recorded and returned, not raised."""
        if not 8 <= len(client_key) <= 128:
            raise WorkflowError("client_key must be 8-128 characters (a UUID made on the phone)", "bad_key")
        cid = capture_id(self.site_id, actor.user_id, client_key)
        now = self.clock()
        with self._locks.hold("field_capture", cid):
            try:
                cap, ver = self.repo.get("field_capture", cid, FieldCapture)
            except NotFound:
                cap, ver = None, None
            if cap is not None and cap.state != "claimed":
                return self._outcome(cap, duplicate=True)
            if cap is not None and now - cap.created_at < CLAIM_TIMEOUT:
                return Outcome("pending", cid, http_status=409, code="in_progress",
                               detail="this capture is being applied; send it again shortly")
            claim = FieldCapture(id=cid, site_id=self.site_id, state="claimed", created_at=now, created_by=actor.user_id,
                                 client_key=client_key, action=action, actor=actor.user_id, captured_at=captured_at,
                                 target_id=target_id)
            try:
                ver = self.repo.save("field_capture", claim, actor=actor.user_id, action="claim", expected_version=ver,
                                     subtype=action, owner=actor.user_id, now=now)
            except InvalidTransition:   # another server process claimed it first
                return Outcome("pending", cid, http_status=409, code="in_progress",
                               detail="this capture is being applied; send it again shortly")
        try:
            kind, rid = apply()
            claim.state, claim.result_kind, claim.result_id = "applied", kind, rid
        except WorkflowError as exc:
            claim.state, claim.status, claim.code, claim.detail = "refused", exc.status, exc.code, str(exc)
        with self._locks.hold("field_capture", cid):
            self.repo.save("field_capture", claim, actor=actor.user_id, action=claim.state, expected_version=ver,
                           subtype=action, owner=actor.user_id, now=self.clock())
        return self._outcome(claim, duplicate=False)

    @staticmethod
    def _outcome(cap: FieldCapture, *, duplicate: bool) -> Outcome:
        if cap.state == "refused":
            return Outcome("refused", cap.id, http_status=cap.status, code=cap.code, detail=cap.detail)
        return Outcome("duplicate" if duplicate else "applied", cap.id, cap.result_kind, cap.result_id)

    def captures(self, actor: Actor, limit: int = 100) -> list[FieldCapture]:
        """The actor's own captures, newest first."""
        return self.repo.list("field_capture", FieldCapture, owner=actor.user_id, limit=limit)
