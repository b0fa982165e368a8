"""The one Settings: environment, then the TOML file, then defaults; lower layers get plain config."""
from __future__ import annotations

import ast
import os
from datetime import timedelta
from pathlib import Path

import pytest

from safetwin.app.settings import Settings, settings_markdown
from safetwin.twin.workflows.settings import WorkflowSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No SAFETWIN_* variable from the caller's shell; the working directory has no safetwin.toml."""
    for name in list(os.environ):
        if name.startswith("SAFETWIN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_env_wins_over_the_toml_file_which_wins_over_defaults(clean_env, tmp_path):
    toml = tmp_path / "site.toml"
    toml.write_text('mqtt_host = "broker.from.toml"\nmqtt_port = 18830\njob_interval_s = 15\n'
                    'hazard_escalate_every = 7200\n[api_tokens]\n"tok-1" = "viewer"\n', encoding="utf-8")
    clean_env.setenv("SAFETWIN_CONFIG", str(toml))
    clean_env.setenv("SAFETWIN_MQTT_HOST", "broker.from.env")
    clean_env.setenv("SAFETWIN_JOB_INTERVAL_S", "5")
    settings = Settings()
    assert settings.mqtt_host == "broker.from.env"          # env over TOML
    assert settings.job_interval_s == 5.0                    # env over TOML (a workflow field)
    assert settings.mqtt_port == 18830                       # TOML over default
    assert settings.api_tokens == {"tok-1": "viewer"}        # a TOML table
    assert settings.hazard_escalate_every == timedelta(hours=2)
    assert settings.api_port == 8000                         # default
    # the plain objects handed down carry the same values and read nothing themselves
    workflow = settings.workflow_settings()
    assert type(workflow) is WorkflowSettings and workflow.job_interval_s == 5.0
    assert workflow.jwt_secret == settings.jwt_secret
    bridge = settings.bridge_config(site="s9", restore_timeout_s=0.5)
    assert (bridge.host, bridge.port, bridge.site, bridge.restore_timeout_s) == ("broker.from.env", 18830, "s9", 0.5)
    assert bridge.db_url == settings.database_url
    clean_env.setenv("SAFETWIN_JOB_INTERVAL_S", "999")
    assert WorkflowSettings().job_interval_s == 60.0         # the lower layer never reads the environment


def test_safetwin_toml_in_the_working_directory_is_read(clean_env, tmp_path):
    (tmp_path / "safetwin.toml").write_text('api_port = 8123\nrule_pack = "osha_hsg250"\n', encoding="utf-8")
    settings = Settings()
    assert settings.api_port == 8123 and settings.workflow_settings().pack_for("any") == "osha_hsg250"


def test_database_url_from_data_dir_or_db_url(clean_env, tmp_path):
    assert Settings().database_url == f"sqlite:///{(tmp_path / 'var' / 'safetwin.db').as_posix()}"
    clean_env.setenv("SAFETWIN_DATA_DIR", str(tmp_path / "data"))
    assert Settings().database_url == f"sqlite:///{(tmp_path / 'data' / 'safetwin.db').as_posix()}"
    clean_env.setenv("SAFETWIN_DB_URL", " postgresql://u@db:5432/twin ")
    assert Settings().database_url == "postgresql://u@db:5432/twin"


def test_a_bad_value_is_refused_with_its_name(clean_env):
    clean_env.setenv("SAFETWIN_API_THREADS", "0")
    with pytest.raises(ValueError, match="api_threads"):
        Settings()


def test_the_documented_table_lists_every_setting():
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert settings_markdown() in doc, "docs/configuration.md is stale: paste settings_markdown() into it"


ENV_READERS = ("os.environ.get", "os.getenv", "environ.get", "getenv", "os.environ.setdefault", "os.environ.pop")


def _environment_reads(path: Path) -> list[str]:
    """``os.environ[...]``, ``os.environ.get(...)``, ``os.getenv(...)`` … of a ``SAFETWIN_`` name in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ENV_READERS:
            keys = node.args[:1]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
            keys = [node.slice]
        else:
            continue
        if any(isinstance(k, ast.Constant) and str(k.value).startswith("SAFETWIN_") for k in keys):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_safetwin_setting_is_read_from_the_environment_outside_the_app():
    reads = [hit for path in sorted((ROOT / "safetwin").rglob("*.py")) if "app" not in path.relative_to(ROOT).parts
             for hit in _environment_reads(path)]
    assert reads == [], "SafeTwin settings come from safetwin.app.settings only:\n" + "\n".join(reads)
