"""Outside demo mode a server refuses to start on a database whose users still log in with the demo password
(`cityloop serve` says who and how to change it); once they are changed or deactivated it serves."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cityloop.app import create_app
from cityloop.config import Settings, get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org import demo_passwords
from cityloop.org.demo_passwords import DemoPasswordsLeft
from cityloop.org.models import User
from cityloop.org.security import hash_password
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.integration.test_backup import two_databases  # noqa: F401

SECRET = "a-real-secret-of-more-than-32-characters"
NOW = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


@pytest.fixture
def demo_db(two_databases):  # noqa: F811
    """A database whose users all have the password `demo`, as `cityloop demo` builds them."""
    url = two_databases[0]
    upgrade(url)
    with make_session_factory(make_engine(url))() as s:
        seed_world(s, NOW)
        s.commit()
    return url


def _cli(args: list[str], url: str, monkeypatch, demo: bool = False):
    from cityloop.cli import app

    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_SECRET_KEY", SECRET)
    if demo:
        monkeypatch.setenv("CITYLOOP_DEMO", "1")
    else:
        monkeypatch.delenv("CITYLOOP_DEMO", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    return result, " ".join(result.output.split())


def test_serve_refuses_a_database_with_demo_passwords_outside_demo_mode(demo_db, monkeypatch, tmp_path):
    result, output = _cli(["serve", "--port", "1"], demo_db, monkeypatch)
    assert result.exit_code == 2, output
    assert "demo password" in output and "admin" in output and "cityloop users password" in output
    # The app itself refuses too (uvicorn started without the CLI, any worker).
    settings = Settings(database_url=demo_db, secret_key=SECRET, scheduler_in_server=False, media_dir=tmp_path)
    with pytest.raises(DemoPasswordsLeft):
        with TestClient(create_app(settings)):
            pass
    # Demo mode serves it, and `admin`/`demo` logs in there.
    with TestClient(create_app(settings.model_copy(update={"demo": True}))) as api:
        assert api.post("/api/v1/auth/token", data={"username": "admin", "password": "demo"}).status_code == 200


def test_after_the_passwords_are_changed_the_server_starts_and_demo_no_longer_logs_in(demo_db, monkeypatch, tmp_path):
    with make_session_factory(make_engine(demo_db))() as s:
        names = [u.username for u in s.query(User).filter(User.username != "admin")]
    for name in names:
        result, output = _cli(["users", "password", name, "--deactivate"], demo_db, monkeypatch)
        assert result.exit_code == 0, output
    result, output = _cli(["users", "password", "admin", "--password", "short"], demo_db, monkeypatch)
    assert result.exit_code == 1 and "8 characters" in output
    result, output = _cli(["users", "password", "admin", "--password", "a-new-admin-password"], demo_db, monkeypatch)
    assert result.exit_code == 0, output
    settings = Settings(database_url=demo_db, secret_key=SECRET, scheduler_in_server=False, media_dir=tmp_path)
    with TestClient(create_app(settings)) as api:
        assert api.get("/healthz").status_code == 200
        assert api.post("/api/v1/auth/token", data={"username": "admin", "password": "demo"}).status_code == 401
        assert api.post("/api/v1/auth/token",
                        data={"username": "admin", "password": "a-new-admin-password"}).status_code == 200


def test_one_remaining_demo_login_is_found_and_the_check_stays_cheap(demo_db, monkeypatch):
    factory = make_session_factory(make_engine(demo_db))
    with factory() as s:
        for i, user in enumerate(s.query(User).order_by(User.id)):
            # Distinct passwords everywhere (one hash each, as real users have) but one demo login left behind.
            user.password_hash = hash_password("demo") if user.username == "lead1" else f"$argon2id$v=19$fake{i}"
        for i in range(40):
            s.add(User(username=f"staff{i}", display_name="x", password_hash=f"$argon2id$v=19$other{i}",
                       created_at=NOW))
        s.commit()
    checks = []
    real = demo_passwords.verify_password
    monkeypatch.setattr(demo_passwords, "verify_password", lambda p, h: checks.append(h) or real(p, h))
    with factory() as s:
        assert demo_passwords.demo_password_users(s) == ["lead1"]
    assert len(checks) <= demo_passwords.MAX_HASHES  # 51 users, a handful of argon2 checks
