"""Pieces of the demo job: the bootstrap administrator, the wind setting of the live mode."""
from __future__ import annotations

import pytest

from safetwin.app.demo import bootstrap_admin
from safetwin.app.live import parse_wind
from safetwin.twin.store import Store
from safetwin.twin.workflows.service import WorkflowService
from safetwin.twin.workflows.settings import WorkflowSettings


def test_bootstrap_admin_only_on_an_empty_user_table(small_plant, tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'wf.db'}") as store:
        service = WorkflowService(store.engine, small_plant, settings=WorkflowSettings())
        try:
            assert bootstrap_admin(service, None) == ""                       # not configured: nothing
            assert "created user admin" in bootstrap_admin(service, "first-pass-phrase")
            assert service.users.authenticate("admin", "first-pass-phrase").has("admin")
            assert bootstrap_admin(service, "second-pass-phrase") == ""       # users exist: left alone
            assert service.users.authenticate("admin", "second-pass-phrase") is None
        finally:
            service.close()


def test_live_wind_setting_is_parsed_or_refused_with_the_expected_form():
    wind = parse_wind(" 4.5 , 90 , f ")
    assert (wind.speed_m_s, wind.from_deg, wind.stability) == (4.5, 90.0, "F")
    with pytest.raises(ValueError, match="speed m/s,from deg,Pasquill class"):
        parse_wind("3.0,270")
