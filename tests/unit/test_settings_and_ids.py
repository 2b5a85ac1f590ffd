"""Settings refuse unsafe secrets outside demo mode; path ids are plain ASCII numbers within INTEGER range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cityloop.config import DEFAULT_SECRET, Settings
from cityloop.shared.ids import MAX_ID, as_id

LONG = "x" * 32


@pytest.mark.parametrize("demo, secret, ok", [
    (True, DEFAULT_SECRET, True),
    (False, DEFAULT_SECRET, False),
    (False, "short-secret", False),
    (False, LONG, True),
    # The example file's secret is public: tokens signed with it could be forged.
    (False, "change-this-to-64-random-characters-0123456789abcdef0123456789ab", False),
    (False, "CHANGE_ME_please-this-is-long-enough-for-32-chars", False),
    (True, "change-this-to-64-random-characters-0123456789abcdef0123456789ab", True),
])
def test_secret_rules(demo, secret, ok):
    if ok:
        assert Settings(demo=demo, secret_key=secret).secret_key == secret
    else:
        with pytest.raises(ValidationError):
            Settings(demo=demo, secret_key=secret)


@pytest.mark.parametrize("value, expected", [
    ("17", 17), (17, 17), ("0", None), ("-1", None), ("²", None), ("١٢", None),
    (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("99999999999999999999", None), ("LA2026112300017", None),
])
def test_as_id(value, expected):
    assert as_id(value) == expected


def test_every_secret_in_the_deploy_example_is_refused():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "deploy" / "cityloop.env.example"
    secrets = [line.split("=", 1)[1] for line in example.read_text().splitlines()
               if line.startswith("CITYLOOP_SECRET_KEY=")]
    assert secrets
    for secret in secrets:
        with pytest.raises(ValidationError, match="published example"):
            Settings(demo=False, secret_key=secret)


def test_serve_with_the_example_secret_prints_why(monkeypatch):
    from typer.testing import CliRunner

    from cityloop.cli import app
    from cityloop.config import get_settings

    monkeypatch.delenv("CITYLOOP_DEMO", raising=False)
    monkeypatch.setenv("CITYLOOP_SECRET_KEY", "change-this-to-64-random-characters-0123456789abcdef0123456789ab")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "published example" in " ".join(result.output.split())


@pytest.mark.parametrize("field, value", [
    ("fleet_ingest_token", "demo"), ("sensor_gateway_keys", ["good-gateway-key-1", "change-me"]),
    ("public_voice_gateway_token", "your-secret-here"),
])
def test_example_device_tokens_are_refused_outside_demo_mode(field, value):
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(demo=False, secret_key=LONG, **{field: value})
    assert getattr(Settings(demo=True, **{field: value}), field) == value
