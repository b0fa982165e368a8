"""Errors raised by workflow rules; each carries a machine code and an HTTP-like status."""
from __future__ import annotations


class WorkflowError(Exception):
    """A refused workflow action; ``code`` is stable, ``str(err)`` explains it to a person."""

    status = 409

    def __init__(self, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.code = code


class NotFound(WorkflowError):
    """The record does not exist."""

    status = 404


class Forbidden(WorkflowError):
    """Wrong role or segregation of duties (e.g. approving one's own permit)."""

    status = 403


class InvalidTransition(WorkflowError):
    """The record's state does not allow this action."""

    status = 409


class GuardFailed(WorkflowError):
    """A rule guard failed: gas test, certificate, SIMOPS, validity, missing field."""

    status = 422


class AlreadyExists(WorkflowError):
    """A record of that id exists already (a second create is a conflict, not bad input)."""

    status = 409
