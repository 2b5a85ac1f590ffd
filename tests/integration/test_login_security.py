"""Login hardening, driven the way an attacker or a user would: parallel guesses cannot outrun the limit, throttling
holds per IP and per account across two app instances on one database, an unknown name looks exactly like a real
one, a single attacker cannot lock `admin` out for everyone, an admin lifts a delay, logout and a new password end
tokens at once on every instance, and the login and logout forms need their CSRF token."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from cityloop.state import app_state
from cityloop.app import create_app
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.org import service as org_service
from cityloop.org.security import verify_password
from cityloop.shared.clock import FixedClock
from tests.own_database import own_database
from tests.conftest import SHANGHAI

TOKEN = "/api/v1/auth/token"
SECRET = "test-secret-of-thirty-two-bytes-or-more"


# --- a committed database that several app instances share (a SQLite file, or a new PostgreSQL database) ---

@pytest.fixture
def shared_url(tmp_path):
    with own_database(tmp_path, "logins") as url:
        upgrade(url)
        yield url


@pytest.fixture
def shared(shared_url, tmp_path):
    """(settings, clock, make_app): the seeded world committed; make_app() is one more worker on that database."""
    from tests.factories import seed_world

    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    engine = make_engine(shared_url)
    with make_session_factory(engine)() as session:
        seed_world(session, clock.now())
        session.commit()
    settings = Settings(database_url=shared_url, demo=True, media_dir=tmp_path / "media", scheduler_in_server=False,
                        secret_key=SECRET)
    apps = []

    def make_app(**overrides):
        app = create_app(settings.model_copy(update=overrides), engine=make_engine(shared_url), clock=clock)
        apps.append(app)
        return app

    yield settings, clock, make_app
    for app in apps:
        app_state(app).intake.stop()
        app_state(app).engine.dispose()
    engine.dispose()


@pytest.fixture
def verified(monkeypatch):
    """Every password check the login makes: (password, hash) pairs, thread-safe."""
    seen, lock = [], threading.Lock()

    def counting(password, hashed):
        with lock:
            seen.append((password, hashed))
        return verify_password(password, hashed)

    monkeypatch.setattr(org_service, "verify_password", counting)
    return seen


def _post_many(app, bodies, ip="198.51.100.7"):
    async def main():
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await asyncio.gather(*(client.post(TOKEN, data=b) for b in bodies))

    return asyncio.run(main())


def test_parallel_guesses_cannot_outrun_the_limit(shared, verified):
    settings, _, make_app = shared
    app = make_app()
    guesses = [{"username": "lead1", "password": f"guess-{i}"} for i in range(100)]
    guesses[95] = {"username": "lead1", "password": "demo"}  # the right password, as the 96th of 100 at once
    statuses = [r.status_code for r in _post_many(app, guesses)]
    real = [h for _, h in verified if h != org_service._DUMMY_HASH]
    assert len(real) <= settings.login_max_failures  # only the reserved attempts reach the password check
    assert statuses.count(429) >= 100 - settings.login_max_failures
    assert statuses.count(401) + statuses.count(200) == len(real)
    if statuses[95] != 200:  # unless it was among the few that were checked, the right password stays out
        assert _post_many(app, [{"username": "lead1", "password": "demo"}])[0].status_code == 429


def test_throttling_holds_across_two_instances_on_one_database(shared):
    _, clock, make_app = shared
    first, second = make_app(login_ip_max_failures=6), make_app(login_ip_max_failures=6)
    workers = [TestClient(first, client=("203.0.113.9", 1)), TestClient(second, client=("203.0.113.9", 2))]
    # one IP sprays many names, alternating between the workers: the IP's limit is shared
    codes = [workers[i % 2].post(TOKEN, data={"username": f"user{i}", "password": "x"}).status_code for i in range(8)]
    assert codes == [401] * 6 + [429] * 2
    elsewhere = TestClient(second, client=("192.0.2.1", 3))
    assert elsewhere.post(TOKEN, data={"username": "dispatcher1", "password": "demo"}).status_code == 200
    # one account from one IP, alternating workers: the account's limit is shared too
    other = [TestClient(first, client=("192.0.2.50", 1)), TestClient(second, client=("192.0.2.50", 2))]
    codes = [other[i % 2].post(TOKEN, data={"username": "operator1", "password": "nope"}).status_code for i in range(5)]
    assert codes == [401] * 5
    assert other[1].post(TOKEN, data={"username": "operator1", "password": "demo"}).status_code == 429
    clock.advance(seconds=60)
    assert other[0].post(TOKEN, data={"username": "operator1", "password": "demo"}).status_code == 200


def _answer(response) -> tuple:
    body = response.json()
    return response.status_code, body["code"], body["title"], body["detail"], body["type"], sorted(body)


def test_an_unknown_name_looks_exactly_like_a_real_account(api, world, settings, verified):
    wrong = api.post(TOKEN, data={"username": "lead1", "password": "nope"})
    unknown = api.post(TOKEN, data={"username": "ghost", "password": "nope"})
    assert _answer(wrong) == _answer(unknown) and wrong.status_code == 401
    assert len(verified) == 2  # the unknown name costs one (dummy) password check too: no timing difference
    api.patch(f"/api/v1/users/{world.users['operator1'].id}", json={"active": False},
              headers=_bearer(api, "admin"))
    inactive = api.post(TOKEN, data={"username": "operator1", "password": "demo"})
    assert _answer(inactive) == _answer(unknown)
    for _ in range(settings.login_max_failures - 1):
        api.post(TOKEN, data={"username": "lead1", "password": "nope"})
        api.post(TOKEN, data={"username": "ghost", "password": "nope"})
    locked = api.post(TOKEN, data={"username": "lead1", "password": "demo"})  # the right password, while delayed
    ghost = api.post(TOKEN, data={"username": "ghost", "password": "whatever"})
    assert _answer(locked) == _answer(ghost) and locked.status_code == 429
    assert "locked_until" not in locked.json()


def _bearer(api, username, password="demo") -> dict[str, str]:
    r = api.post(TOKEN, data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_one_attacker_cannot_lock_admin_out_and_delays_grow(app, world, settings, clock):
    attacker, admin = TestClient(app, client=("203.0.113.66", 1)), TestClient(app, client=("192.0.2.10", 1))
    for _ in range(settings.login_max_failures):
        assert attacker.post(TOKEN, data={"username": "admin", "password": "guess"}).status_code == 401
    assert attacker.post(TOKEN, data={"username": "admin", "password": "demo"}).status_code == 429
    assert admin.post(TOKEN, data={"username": "admin", "password": "demo"}).status_code == 200  # another IP: fine
    # the attacker's delay doubles with each further wrong guess: 60 s, 120 s, 240 s …
    for delay in (60, 120, 240):
        clock.advance(seconds=delay - 1)
        assert attacker.post(TOKEN, data={"username": "admin", "password": "guess"}).status_code == 429
        clock.advance(seconds=1)
        assert attacker.post(TOKEN, data={"username": "admin", "password": "guess"}).status_code == 401


def test_many_ips_together_delay_an_account_but_only_for_a_while(settings, engine, session_factory,
                                                                 read_session_factory, clock, world):
    tight = settings.model_copy(update={"login_account_max_failures": 8})
    app = create_app(tight, engine=engine, session_factory=session_factory,
                     read_session_factory=read_session_factory, clock=clock)
    for i in range(8):
        TestClient(app, client=(f"203.0.113.{i}", 1)).post(TOKEN, data={"username": "admin", "password": "guess"})
    fresh = TestClient(app, client=("192.0.2.99", 1))
    assert fresh.post(TOKEN, data={"username": "admin", "password": "demo"}).status_code == 429
    clock.advance(seconds=tight.login_delay_seconds)
    assert fresh.post(TOKEN, data={"username": "admin", "password": "demo"}).status_code == 200


def test_an_admin_lifts_the_delay_from_the_admin_page(api, app, world, settings):
    for _ in range(settings.login_max_failures):
        api.post(TOKEN, data={"username": "lead1", "password": "nope"})
    admin = TestClient(app)
    csrf = _page_login(admin, "admin")
    page = admin.get("/console/admin/users?q=lead1").text
    assert "已锁定" in page and '{"unlock": true}' in page
    uid = world.users["lead1"].id
    lead = TestClient(app, client=("192.0.2.20", 1))
    assert lead.patch(f"/api/v1/users/{uid}", json={"unlock": True}, headers=_bearer(lead, "dispatcher1")).status_code \
        == 403
    r = admin.patch(f"/api/v1/users/{uid}", json={"unlock": True}, headers={"X-CSRF-Token": csrf})  # as the button
    assert r.status_code == 200 and r.json()["locked"] is False
    assert "已锁定" not in admin.get("/console/admin/users?q=lead1").text
    assert api.post(TOKEN, data={"username": "lead1", "password": "demo"}).status_code == 200


def test_a_new_password_ends_old_tokens_on_every_instance(api, app, world, settings, engine, session_factory,
                                                          read_session_factory, clock):
    other = TestClient(create_app(settings, engine=engine, session_factory=session_factory,
                                  read_session_factory=read_session_factory, clock=clock))
    old = _bearer(api, "lead1")
    assert api.get("/api/v1/me", headers=old).status_code == 200  # cached on this instance now
    assert other.get("/api/v1/me", headers=old).status_code == 200
    r = other.patch(f"/api/v1/users/{world.users['lead1'].id}", json={"password": "a-brand-new-pass"},
                    headers=_bearer(other, "admin"))
    assert r.status_code == 200
    assert api.get("/api/v1/me", headers=old).status_code == 401  # the other instance's cache does not help it
    assert other.get("/api/v1/me", headers=old).status_code == 401
    assert api.get("/api/v1/me", headers=_bearer(api, "lead1", "a-brand-new-pass")).status_code == 200


def test_logout_ends_the_token_on_every_instance(api, world, settings, engine, session_factory,
                                                 read_session_factory, clock):
    other = TestClient(create_app(settings, engine=engine, session_factory=session_factory,
                                  read_session_factory=read_session_factory, clock=clock))
    token = _bearer(api, "operator1")
    assert other.get("/api/v1/me", headers=token).status_code == 200
    assert api.post("/api/v1/auth/logout", headers=token).status_code == 204
    assert other.get("/api/v1/me", headers=token).status_code == 401
    assert api.post("/api/v1/auth/logout", headers=token).status_code == 401


def _page_login(client, username, password="demo") -> str:
    client.get("/login")
    r = client.post("/login", data={"username": username, "password": password, "next": "/console",
                                    "csrf": client.cookies.get("cl_csrf")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client.cookies.get("cl_csrf")


def test_the_logout_form_needs_its_csrf_token_and_ends_the_session(api, world):
    csrf = _page_login(api, "dispatcher1")
    stolen = api.cookies.get("cl_token")
    assert 'name="csrf" value="' + csrf in api.get("/console").text  # the logout form carries it
    for bad in ({}, {"csrf": "forged"}):
        r = api.post("/logout", data=bad, follow_redirects=False)
        assert r.status_code == 403 and r.json()["code"] == "csrf"
        assert api.get("/api/v1/me").status_code == 200  # still logged in
    r = api.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    api.cookies.clear()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {stolen}"}).status_code == 401


def test_the_login_form_needs_its_csrf_token(api, world):
    form = api.get("/login")
    csrf = api.cookies.get("cl_csrf")
    assert csrf and f'name="csrf" value="{csrf}"' in form.text
    data = {"username": "dispatcher1", "password": "demo", "next": "/console"}
    for bad, cookie in (({}, csrf), ({"csrf": "forged"}, csrf), ({"csrf": "x"}, None)):
        api.cookies.clear()
        if cookie:
            api.cookies.set("cl_csrf", cookie)
        r = api.post("/login", data={**data, **bad}, follow_redirects=False)
        assert r.status_code == 403 and "cl_token" not in r.headers.get("set-cookie", "")
        assert "页面已过期" in r.text
    api.cookies.set("cl_csrf", csrf)
    assert api.post("/login", data={**data, "csrf": csrf}, follow_redirects=False).status_code == 303


def test_the_command_line_lifts_a_delay_when_no_admin_can(shared, monkeypatch):
    from typer.testing import CliRunner

    from cityloop.cli import app as cli
    from cityloop.config import get_settings

    settings, _, make_app = shared
    api = TestClient(make_app())
    for _ in range(settings.login_max_failures):
        api.post(TOKEN, data={"username": "admin", "password": "guess"})
    assert api.post(TOKEN, data={"username": "admin", "password": "demo"}).status_code == 429
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["users", "unlock", "admin"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert api.post(TOKEN, data={"username": "admin", "password": "demo"}).status_code == 200


def test_workers_on_their_own_engines_end_a_token_at_logout_and_at_a_new_password(shared):
    # Each worker reads token versions on its own pooled driver connections (org/tokens.py), not a test's shared one.
    _, _, make_app = shared
    one, two = TestClient(make_app()), TestClient(make_app())
    token = _bearer(one, "operator1")
    for _ in range(2):  # both hold the actor in memory, then check (and may keep) the token's version
        assert one.get("/api/v1/me", headers=token).status_code == 200
        assert two.get("/api/v1/me", headers=token).status_code == 200
    assert two.post("/api/v1/auth/logout", headers=token).status_code == 204
    assert one.get("/api/v1/me", headers=token).status_code == 401
    lead = _bearer(one, "lead1")
    for _ in range(2):
        assert two.get("/api/v1/me", headers=lead).status_code == 200
    r = one.patch("/api/v1/users/" + str(one.get("/api/v1/me", headers=lead).json()["id"]),
                  json={"password": "a-brand-new-pass"}, headers=_bearer(one, "admin"))
    assert r.status_code == 200, r.text
    assert two.get("/api/v1/me", headers=lead).status_code == 401
    assert two.get("/api/v1/me", headers=_bearer(two, "lead1", "a-brand-new-pass")).status_code == 200


@pytest.mark.parametrize("args", [["--password", "another-new-pass"], ["--deactivate"]], ids=["password", "deactivate"])
def test_cityloop_users_password_ends_the_users_tokens_on_running_workers_at_once(shared, monkeypatch, args):
    # The CLI runs beside the servers: the workers hold the token's version (on a SQLite file, until a stamp changes).
    from typer.testing import CliRunner

    from cityloop.cli import app as cli
    from cityloop.config import get_settings

    settings, _, make_app = shared
    one, two = TestClient(make_app()), TestClient(make_app())
    token = _bearer(one, "operator1")
    for _ in range(2):  # the first loads the actor, the second checks (and may keep) the token's version
        assert one.get("/api/v1/me", headers=token).status_code == 200
        assert two.get("/api/v1/me", headers=token).status_code == 200
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CITYLOOP_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["users", "password", "operator1", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert one.get("/api/v1/me", headers=token).status_code == 401
    assert two.get("/api/v1/me", headers=token).status_code == 401
