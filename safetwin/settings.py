"""Settings in one place: ``SAFETWIN_*`` environment variables, then an optional TOML file.

The TOML file is ``safetwin.toml`` in the working directory, or the path in
``SAFETWIN_CONFIG``. Environment variables win over the file.

Example::

    >>> from safetwin.settings import get_settings
    >>> get_settings().api_port
    8000
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource



def _demo_plant() -> Path:
    from safetwin.plant_models.loader import bundled_plant_path
    return bundled_plant_path("demo_plant")


class Settings(BaseSettings):
    """Runtime settings of SafeTwin (all optional; embedded defaults work out of the box)."""

    model_config = SettingsConfigDict(env_prefix="SAFETWIN_", extra="ignore")

    plant_path: Path = Field(default_factory=_demo_plant, description="plant folder to load (default: the bundled demo plant)")
    data_dir: Path = Field(default=Path("var"), description="where the embedded database and logs live")
    db_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token: str | None = Field(default=None, description="admin bearer token for the API; generated when unset")
    api_tokens: dict[str, str] = Field(default_factory=dict, description="more tokens: token -> role (JSON in env)")
    live_wind: str = Field(default="3.0,270,D", description="wind for the live source estimator until a met "
                           "station publishes wind: 'speed m/s,from deg,Pasquill class'")
    log_level: str = "INFO"
    log_json: bool = False

    @property
    def database_url(self) -> str:
        """The store URL: ``db_url`` or a SQLite file in ``data_dir``."""
        return self.db_url or f"sqlite:///{(self.data_dir / 'safetwin.db').as_posix()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("SAFETWIN_CONFIG", "safetwin.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
