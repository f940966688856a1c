"""Recorded once, then replayed in the same run (the emulator's port stays the same).

Only the plugin's ``vcr_config`` is used: this project does not define one."""

import pytest

from lean_mtls.testing import vcr_config as lean_vcr_config


def test_the_plugin_vcr_config_is_the_one_in_use(vcr_config: dict) -> None:
    assert vcr_config["before_record_request"] is lean_vcr_config()["before_record_request"]


@pytest.mark.vcr
@pytest.mark.default_cassette("app_token.yaml")
def test_1_record_with_the_app_token(lean_server, lean_session) -> None:
    assert lean_session.customers.create(app_user_id="user-vcr-1")["customer_id"]
    assert lean_session.get("/banks/v1/", stream=True).json()
    assert any(r.path.startswith("/customers") for r in lean_server.requests)


@pytest.mark.vcr
@pytest.mark.default_cassette("app_token.yaml")
def test_2_replay_with_the_app_token(lean_server, lean_session) -> None:
    before = len(lean_server.requests)
    assert lean_session.customers.create(app_user_id="user-vcr-1")["customer_id"]
    assert lean_session.get("/banks/v1/", stream=True).json()
    assert len(lean_server.requests) == before  # answered from the cassette


@pytest.mark.vcr
@pytest.mark.default_cassette("oauth.yaml")
def test_3_record_with_oauth(lean_server) -> None:
    with lean_server.session(auth="oauth") as session:
        assert session.banks.list()


@pytest.mark.vcr
@pytest.mark.default_cassette("oauth.yaml")
def test_4_replay_with_oauth(lean_server) -> None:
    before = len(lean_server.requests)
    with lean_server.session(auth="oauth") as session:
        assert session.banks.list()
    assert len(lean_server.requests) == before
