"""The one Settings of SafeTwin: ``SAFETWIN_*`` environment variables, then an optional TOML file.

The TOML file is ``safetwin.toml`` in the working directory, or the path in ``SAFETWIN_CONFIG``;
its keys are the setting names in lower case (``mqtt_host = "broker.plant"``). An environment
variable wins over the file, the file over the default. Nothing below the wiring layer reads the
environment: the app builds plain config objects from these settings and hands them down
(:meth:`Settings.workflow_settings`, :meth:`Settings.bridge_config`, :attr:`Settings.database_url`).
The table of every setting is ``docs/configuration.md`` (written by :func:`settings_markdown`).

Example::

    >>> Settings(api_port=8100, data_dir="/srv/safetwin").database_url
    'sqlite:////srv/safetwin/safetwin.db'
    >>> Settings(jwt_ttl_min=15).workflow_settings().jwt_ttl_min
    15.0
"""
from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from safetwin.twin.workflows.audit_anchor import AuditSetup
from safetwin.twin.workflows.settings import WorkflowSettings

if TYPE_CHECKING:
    from safetwin.live_bridge.bridge import BridgeConfig
    from safetwin.live_bridge.mqtt_client import BrokerEndpoint

__all__ = ["Settings", "get_settings", "settings_markdown", "ENV_PREFIX", "CONFIG_ENV"]

ENV_PREFIX = "SAFETWIN_"
#: the environment variable naming the TOML file (default ``safetwin.toml`` in the working directory)
CONFIG_ENV = "SAFETWIN_CONFIG"


def _demo_plant() -> Path:
    from safetwin.plant_models.loader import bundled_plant_path
    return bundled_plant_path("demo_plant")


class Settings(BaseSettings, WorkflowSettings):
    """Runtime settings of SafeTwin (all optional; the embedded defaults work out of the box).

    The fields of the workflows and of API authentication (JWT, rule packs, hazard windows, API
    threads, job interval) are those of :class:`~safetwin.twin.workflows.settings.WorkflowSettings`,
    declared once there; the others are the wiring's own."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # ---------------------------------------------------------------- plant and storage
    plant_path: Path = Field(default_factory=_demo_plant,
                             description="plant folder the demo/serve job loads (default: the bundled demo plant)")
    data_dir: Path = Field(default=Path("var"), description="where the embedded database, broker data and logs live")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL of the store, e.g. "
                               "`postgresql+psycopg://user@host:5432/db` (default: SQLite `safetwin.db` in data_dir)")
    # ---------------------------------------------------------------- MQTT
    mqtt_host: str = Field(default="127.0.0.1", description="broker of the live bridge, simulator and notifications")
    mqtt_port: int = Field(default=1883, description="broker port")
    mqtt_username: str | None = Field(default=None, description="broker user name (none: anonymous)")
    mqtt_password: str | None = Field(default=None, repr=False, description="broker password")
    mqtt_tls_ca_file: Path | None = Field(default=None, description="CA certificate file: connect with TLS "
                                          "and verify the broker against it (none: plain TCP)")
    mqtt_protocol: Literal["5", "3.1.1", "auto"] = Field(
        default="auto", description="MQTT version of the bridge: `5`, `3.1.1` or `auto` "
        "(5, else 3.1.1, as the clustered brokers of docs/cluster.md need)")
    mqtt_fallbacks: list[str] = Field(default_factory=list, description="further broker nodes of a cluster, "
                                      "`HOST:PORT` each, tried in turn when the current one is lost")
    # ---------------------------------------------------------------- API (authentication: WorkflowSettings)
    api_host: str = Field(default="127.0.0.1", description="address the API listens on")
    api_port: int = Field(default=8000, description="API port")
    api_token: str | None = Field(default=None, repr=False,
                                  description="admin bearer token for the API and UI (generated at start when unset)")
    api_tokens: dict[str, str] = Field(default_factory=dict, repr=False,
                                       description="more static tokens: JSON map token → role (viewer … admin)")
    bootstrap_admin_password: str | None = Field(default=None, repr=False,
                                                 description="creates user `admin` at start when no user exists")
    # ---------------------------------------------------------------- notifications
    notify_mqtt: bool = Field(default=True, description="publish workflow notifications on the broker, "
                              "`pst/v1/{site}/twin/notify/to/{recipient}` and `…/notify/about/{kind}/{id}`")
    notify_webhook_url: str | None = Field(default=None, description="POST every workflow notification as JSON here")
    notify_dingtalk_url: str | None = Field(default=None, repr=False, description="钉钉 group robot webhook "
                                            "(`https://oapi.dingtalk.com/robot/send?access_token=…`)")
    notify_dingtalk_secret: str | None = Field(default=None, repr=False,
                                               description="the DingTalk robot's signing secret (`SEC…`), if set")
    notify_wecom_url: str | None = Field(default=None, repr=False, description="企业微信 group robot webhook "
                                         "(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`)")
    notify_wecom_mention: bool = Field(default=False, description="mention the recipients (WeCom user ids) in "
                                       "WeCom robot messages")
    notify_smtp_host: str | None = Field(default=None, description="SMTP server for e-mail notifications "
                                         "(none: no e-mail)")
    notify_smtp_port: int = Field(default=25, description="SMTP port")
    notify_smtp_starttls: bool = Field(default=False, description="upgrade the SMTP connection with STARTTLS")
    notify_smtp_username: str | None = Field(default=None, description="SMTP login (none: no login)")
    notify_smtp_password: str | None = Field(default=None, repr=False, description="SMTP password")
    notify_email_from: str = Field(default="safetwin@localhost", description="sender address of e-mails")
    notify_email_to: list[str] = Field(default_factory=list, description="addresses that get every notification "
                                       "(JSON list)")
    notify_email_addresses: dict[str, str] = Field(default_factory=dict, description="recipient id (user, "
                                                   "`role:…`, `layer:…`) → e-mail address (JSON map)")
    notify_max_attempts: int = Field(default=8, ge=1, le=100, description="delivery attempts per notification "
                                     "and channel before it becomes a dead letter")
    notify_retry_base_s: float = Field(default=2.0, ge=0, description="back-off after the first failed attempt "
                                       "(s), doubled after each further one")
    notify_retry_max_s: float = Field(default=600.0, gt=0, description="longest back-off between attempts (s)")
    # ---------------------------------------------------------------- audit trail
    audit_key: str | None = Field(default=None, repr=False,
                                  description="HMAC key of the audit trail, 64 hex digits (default: the key file; "
                                              "keep it out of the database and of the repository)")
    audit_key_file: Path | None = Field(default=None, description="file holding the audit key, created with mode "
                                        "0600 at first start (default: `audit.key` in data_dir)")
    audit_checkpoint_dir: Path | None = Field(default=None, description="where signed checkpoints of the audit "
                                              "chain are written, one JSON-lines file per site and day; ship it "
                                              "off the machine (default: `audit-checkpoints` in data_dir)")
    # ---------------------------------------------------------------- field work
    photo_dir: Path | None = Field(default=None, description="where photos uploaded from phones are stored, "
                                   "content-addressed (default: `photos` in data_dir)")
    # ---------------------------------------------------------------- live mode, logs, reports
    live_wind: str = Field(default="3.0,270,D", description="fallback wind of live mode while the plant's weather "
                           "station is stale or missing (named in every estimate), and the wind the simulated "
                           "station measures: `speed m/s,from deg,Pasquill class`")
    log_level: str = Field(default="INFO", description="log level (DEBUG, INFO, WARNING …)")
    log_json: bool = Field(default=False, description="structured JSON logs instead of console lines")
    basemap_tiles_dir: Path | None = Field(default=None, description="folder of XYZ tiles `{z}/{x}/{y}.png` (Web "
                                           "Mercator, e.g. from `safetwin basemap tiles`) on this machine, drawn "
                                           "beneath the engineer's map (none: no basemap)")
    chromium: Path | None = Field(default=None, description="Chromium executable printing PDF reports "
                                  "(default: /usr/bin/chromium, else `chromium` on PATH)")

    @property
    def database_url(self) -> str:
        """The store URL: ``db_url``, else a SQLite file ``safetwin.db`` in ``data_dir`` (absolute)."""
        if self.db_url and self.db_url.strip():
            return self.db_url.strip()
        return "sqlite:///" + (self.data_dir.resolve() / "safetwin.db").as_posix()

    def audit_setup(self) -> AuditSetup:
        """The audit trail's key (``audit_key``, else the key file, created at first start) and its
        checkpoint directory."""
        from safetwin.twin.workflows.audit import AuditKey, load_or_create_key

        key = (AuditKey.from_text(self.audit_key) if self.audit_key
               else load_or_create_key(self.audit_key_file or self.data_dir / "audit.key"))
        return AuditSetup(key, (self.audit_checkpoint_dir or self.data_dir / "audit-checkpoints").resolve())

    def photo_store_dir(self) -> Path:
        """Where the field photos live (``photo_dir``, default ``photos`` in data_dir)."""
        return (self.photo_dir or self.data_dir / "photos").resolve()

    def workflow_settings(self) -> WorkflowSettings:
        """The plain configuration of the safety workflows and of API authentication."""
        return WorkflowSettings(**self.model_dump(include=set(WorkflowSettings.model_fields)))

    def broker_endpoint(self) -> BrokerEndpoint:
        """The broker of every MQTT client the app makes: address, credentials, TLS."""
        from safetwin.live_bridge.mqtt_client import BrokerEndpoint

        return BrokerEndpoint(self.mqtt_host, self.mqtt_port, self.mqtt_username, self.mqtt_password,
                              str(self.mqtt_tls_ca_file) if self.mqtt_tls_ca_file else None)

    def bridge_config(self, site: str = "site1", **overrides: Any) -> BridgeConfig:
        """The live bridge's configuration for ``site``: broker, credentials, TLS and store from these
        settings; ``overrides`` set any other :class:`~safetwin.live_bridge.bridge.BridgeConfig` field."""
        from safetwin.live_bridge.bridge import BridgeConfig

        broker = self.broker_endpoint()
        fields: dict[str, Any] = dict(site=site, host=broker.host, port=broker.port, username=broker.username,
                                      password=broker.password, tls_ca_file=broker.tls_ca_file,
                                      db_url=self.database_url, mqtt_protocol=self.mqtt_protocol,
                                      fallbacks=tuple(host_port(text) for text in self.mqtt_fallbacks))
        fields.update(overrides)
        return BridgeConfig(**fields)

    @field_validator("mqtt_fallbacks")
    @classmethod
    def _check_fallbacks(cls, value: list[str]) -> list[str]:
        for text in value:
            host_port(text)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Constructor arguments, then the environment, then the TOML file (first wins)."""
        toml_file = Path(os.environ.get(CONFIG_ENV, "safetwin.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; ``get_settings.cache_clear()`` reads them again)."""
    return Settings()


def settings_markdown() -> str:
    """The table of every setting (variable, default, meaning) as Markdown, for ``docs/configuration.md``."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    own = [name for name in Settings.model_fields if name not in WorkflowSettings.model_fields]
    for name in own + list(WorkflowSettings.model_fields):
        field = Settings.model_fields[name]
        if field.default_factory is not None:
            default = {"plant_path": "the bundled demo plant", "jwt_secret": "random at start"}.get(name, "`{}`")
        elif field.default is None:
            default = "—"
        elif isinstance(field.default, timedelta):
            default = f"`{int(field.default.total_seconds())}` s"
        else:
            default = f"`{field.default}`"
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


def host_port(text: str) -> tuple[str, int]:
    """``"host:port"`` → ``(host, port)``; ValueError naming the text otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{text!r}: expected HOST:PORT")
    return host, int(port)
