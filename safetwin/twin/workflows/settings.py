"""Workflow and API-auth settings in one place (``SAFETWIN_*`` environment variables).

The JWT secret comes from ``SAFETWIN_JWT_SECRET``; when unset a random one is generated at start
(tokens then do not survive a restart — set it for several server processes).
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkflowSettings(BaseSettings):
    """Settings of the workflows and of API authentication."""

    model_config = SettingsConfigDict(env_prefix="SAFETWIN_", extra="ignore")

    jwt_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    jwt_algorithm: str = "HS256"
    jwt_ttl_min: float = 60.0
    rule_pack: str = Field(default="gb30871_2022", description="rule pack id per site: gb30871_2022 | osha_hsg250")
    site_packs: dict[str, str] = Field(default_factory=dict, description="site id -> rule pack id (JSON in env)")
    notify_webhook_url: str | None = None
    notify_mqtt: bool = False
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_prefix: str = "safetwin"
    hazard_repeat_days: float = Field(default=90.0, description="repeat-hazard window (days)")
    hazard_repeat_radius_m: float = Field(default=20.0, description="repeat-hazard distance (m)")
    hazard_escalate_every: timedelta = Field(default=timedelta(days=1),
                                             description="lateness per escalation layer (ISO 8601 or seconds)")
    api_threads: int = Field(default=32, ge=1, le=512,
                             description="worker threads for the API's blocking routes; the DB pool matches it")
    job_interval_s: float = Field(default=60.0, ge=0,
                                  description="period of the due-job scheduler started with the API (s); 0 = off")
    bootstrap_admin_password: str | None = Field(default=None, repr=False,
                                                 description="creates user 'admin' at start when no user exists")

    def pack_for(self, site_id: str) -> str:
        """The rule pack selected for ``site_id``."""
        return self.site_packs.get(site_id, self.rule_pack)
