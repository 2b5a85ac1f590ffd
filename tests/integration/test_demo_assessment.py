"""The demo's monthly assessment, read through the assessment API after `cityloop demo` built the county: every one
of the 12 towns (class-2 units, 乡镇) is scored, and so is every class-1 unit that had cases falling due."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from cityloop.app import create_app
from cityloop.config import Settings
from cityloop.demo.build import build_demo

pytestmark = pytest.mark.slow


def test_the_demo_month_scores_every_town_and_every_class1_unit_with_due_cases(tmp_path):
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(day=1)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", demo=True, media_dir=tmp_path / "media",
                        map_tiles_path=tmp_path / "basemap.mbtiles", scheduler_in_server=False)
    # history from the first day of last month: the demo's first reports visit every town then
    build_demo(settings, Console(file=StringIO()), days=(now - last_month).days + 1, per_day=16)
    period = f"{last_month:%Y-%m}"
    with TestClient(create_app(settings, serving=False)) as api:
        token = api.post("/api/v1/auth/token", data={"username": "leader1", "password": "demo"}).json()
        r = api.get(f"/api/v1/assessment/department?period={period}",
                    headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    towns = [row for row in rows if row["group"] == "class2"]
    assert len(towns) == 12
    # scored, and ranked unless under the method's minimum volume (样本不足)
    unscored = [row["name"] for row in towns if row["score"] is None or (row["rank"] is None and not row["too_few"])]
    assert not unscored, unscored
    class1 = [row for row in rows if row["group"] == "class1"]
    due = [row for row in class1 if row["counters"]["handle_due"] > 0]
    assert len(due) >= 5, [row["name"] for row in class1]
    unscored = [row["name"] for row in due if row["score"] is None or row["grade"] is None]
    assert not unscored, unscored
