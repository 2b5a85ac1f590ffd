"""The demo's JT/T 808 and HJ 212 listeners: derived from the web port or free, never shared by two demos, printed."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from cityloop import cli
from cityloop.config import get_settings
from cityloop.shared.ports import listener_ports

ENV = ("CITYLOOP_JT808_PORT", "CITYLOOP_SENSOR_HJ212_PORT", "CITYLOOP_DEMO", "CITYLOOP_DATABASE_URL")


def test_two_demos_get_different_listener_ports():
    a, b = listener_ports(18000, "127.0.0.1", {}), listener_ports(18001, "127.0.0.1", {})
    assert a == {"CITYLOOP_JT808_PORT": 18808, "CITYLOOP_SENSOR_HJ212_PORT": 18212}
    assert not set(a.values()) & set(b.values()) and len(set(b.values())) == 2


def test_a_busy_derived_port_falls_back_to_a_free_one_and_settings_win():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        web = taken.getsockname()[1] - 808
        got = listener_ports(web, "127.0.0.1", {})
        assert got["CITYLOOP_JT808_PORT"] != taken.getsockname()[1]
    assert listener_ports(18000, "127.0.0.1", {"CITYLOOP_JT808_PORT": "9999"})["CITYLOOP_JT808_PORT"] == 9999


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ENV:  # set then delete: the test's changes are undone afterwards
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", f"sqlite:///{tmp_path}/demo.db")
    yield
    get_settings.cache_clear()


def test_the_demo_banner_prints_the_listener_ports(clean_env, monkeypatch):
    import cityloop.demo.build as build

    served = []
    monkeypatch.setattr(build, "build_demo", lambda *a, **k: None)
    monkeypatch.setattr(build, "demo_logins", lambda: "")
    monkeypatch.setattr(cli, "serve", lambda **kw: served.append(kw))
    result = CliRunner().invoke(cli.app, ["demo", "--port", "18400"])
    assert result.exit_code == 0, result.output
    assert "127.0.0.1:19208" in result.output and "127.0.0.1:18612" in result.output  # 18400 + 808, + 212
    assert served == [{"host": "127.0.0.1", "port": 18400, "workers": 1}]
