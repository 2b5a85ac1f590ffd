"""GET /api/v1/catalog/suggest and /picker over HTTP: ranked matters with reasons, validation as problems."""

from __future__ import annotations

import pytest

from cityloop.catalog import suggest
from cityloop.catalog.domain import GBT
from cityloop.catalog.service import load_catalog


@pytest.fixture(autouse=True)
def _fresh_index():
    suggest.invalidate()  # the index is per process; each test has its own rolled-back catalog
    yield
    suggest.invalidate()


@pytest.fixture
def catalog(session, world):
    """The full GB/T 47678.5-2026 matter table on top of the small world."""
    load_catalog(session, GBT)
    session.commit()


def test_suggest_ranks_the_issue_examples(api, catalog):
    for text, code in [("路灯不亮", "01037"), ("有人在路边摆摊卖水果", "09006"), ("下水道井盖没了", "01002")]:
        res = api.get("/api/v1/catalog/suggest", params={"text": text, "limit": 3})
        assert res.status_code == 200, res.text
        items = res.json()["items"]
        assert 1 <= len(items) <= 3 and code in [i["code"] for i in items[:3]]
        assert set(items[0]) == {"code", "name", "score", "reason"} and items[0]["score"] == 1.0


@pytest.mark.parametrize("params", [{"text": ""}, {"text": "   "}, {"text": "长" * 501}, {},
                                    {"text": "路灯", "limit": 0}, {"text": "路灯", "limit": 99},
                                    {"text": "路\x00灯"}])
def test_bad_input_is_a_problem(api, catalog, params):
    res = api.get("/api/v1/catalog/suggest", params=params)
    assert res.status_code == 422 and res.headers["content-type"].startswith("application/problem+json")


def test_unknown_words_give_an_empty_list(api, catalog):
    assert api.get("/api/v1/catalog/suggest", params={"text": "qwerty"}).json() == {"items": []}


def test_picker_lists_every_matter_with_initials_and_words(api, catalog):
    res = api.get("/api/v1/catalog/picker")
    assert res.status_code == 200 and "max-age" in res.headers["cache-control"]
    items = {i["code"]: i for i in res.json()["items"]}
    assert len(items) >= 250
    lamp = items["01037"]
    assert lamp["py"] == "ldyc" and "路灯不亮" in lamp["words"] and "ldbl" in lamp["words_py"]
