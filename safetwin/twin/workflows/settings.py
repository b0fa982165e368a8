"""Configuration of the workflows and of API authentication: a plain model, read from nowhere.

The wiring layer builds it from the one Settings (``safetwin.app.settings.Settings.workflow_settings``,
``SAFETWIN_*`` variables and ``safetwin.toml``); tests and tools construct it directly. The default
JWT secret is random per instance (tokens then do not survive a restart).

Example::

    >>> WorkflowSettings(rule_pack="osha_hsg250", site_packs={"cn1": "gb30871_2022"}).pack_for("cn1")
    'gb30871_2022'
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class WorkflowSettings(BaseModel):
    """Settings of the workflows and of API authentication (times as named; see the fields)."""

    model_config = ConfigDict(extra="forbid")

    jwt_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(48), repr=False,
                            description="secret signing login tokens (random when unset: tokens then do not "
                                        "survive a restart; set it for several server processes)")
    jwt_algorithm: str = Field(default="HS256", description="JWT signing algorithm")
    jwt_ttl_min: float = Field(default=60.0, description="lifetime of a login token (min)")
    auth_recheck_s: float = Field(default=1.0, ge=0, le=60,
                                  description="how old this process's copy of a user's state (active, roles, token "
                                              "version) may get before a request reads it again (s); a change made "
                                              "through this process acts on the next request whatever the value")
    login_max_failures_account: int = Field(default=10, ge=1, le=1000,
                                            description="failed logins of one account within login_window_s that "
                                                        "lock the account for login_lockout_s")
    login_max_failures_address: int = Field(default=30, ge=1, le=100000,
                                            description="failed logins from one client address within "
                                                        "login_window_s that lock the address for login_lockout_s")
    login_window_s: float = Field(default=900.0, gt=0, description="window counting failed logins (s)")
    login_lockout_s: float = Field(default=900.0, gt=0, description="how long a locked account or address is "
                                   "refused without checking any password (s)")
    login_concurrency: int = Field(default=1, ge=1, le=64,
                                   description="password checks (argon2, CPU- and memory-hard) run at once; more "
                                               "logins wait, so a flood of logins cannot starve the other requests")
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024,
                                    description="largest request body the API reads (bytes); larger ones get 413")
    rule_pack: str = Field(default="gb30871_2022", description="permit rule pack: gb30871_2022 or osha_hsg250")
    site_packs: dict[str, str] = Field(default_factory=dict, description="site id → rule pack id (JSON map)")
    hazard_repeat_days: float = Field(default=90.0, description="repeat-hazard window (days)")
    hazard_repeat_radius_m: float = Field(default=20.0, description="repeat-hazard distance (m)")
    hazard_escalate_every: timedelta = Field(default=timedelta(days=1),
                                             description="lateness per hazard escalation layer (ISO 8601 or seconds)")
    api_threads: int = Field(default=32, ge=1, le=512,
                             description="worker threads for the API's blocking routes; the DB pool matches it")
    kpi_max_age_s: float = Field(default=5.0, ge=0, le=3600,
                                 description="GET /kpi answers figures computed at most this long ago (s); 0 = "
                                             "computed for each request")
    job_interval_s: float = Field(default=60.0, ge=0,
                                  description="period of the due-job scheduler started with the API (s); 0 = off")
    audit_verify_interval_s: float = Field(default=600.0, gt=0,
                                           description="full audit-trail verification (every link, record, user "
                                                       "and checkpoint) at most this often, on a due-job pass (s); "
                                                       "the passes between check the new links only")
    audit_checkpoint_interval_s: float = Field(default=60.0, ge=0,
                                               description="a signed checkpoint of the audit chain at most this "
                                                           "often, when it grew and passed its check (s)")

    def pack_for(self, site_id: str) -> str:
        """The rule pack selected for ``site_id``."""
        return self.site_packs.get(site_id, self.rule_pack)
