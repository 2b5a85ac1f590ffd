"""`cityloop channels …` (API keys, gazetteer, cameras, photo checks) and `cityloop simulate video`."""

from __future__ import annotations

import csv
import random
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cityloop.channels.schemas import CameraIn
    from cityloop.config import Settings

CLI_NAME = "channels"
CLI_HELP = "上报渠道 / intake channels: API keys, gazetteer, cameras, photo evidence"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)
keys_app = typer.Typer(help="API keys (Open311, video webhook, 上级交办)", no_args_is_help=True)
gazetteer_app = typer.Typer(help="地名库 / gazetteer for geocoding", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(gazetteer_app, name="gazetteer")
simulate_app = typer.Typer()
console = Console()


def _settings() -> Settings:
    from cityloop.cli import _settings

    return _settings()


def _session() -> Session:
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(_settings().database_url))()


def _now() -> datetime:
    from cityloop.shared.clock import SystemClock

    return SystemClock().now()


@keys_app.command("add")
def keys_add(kind: str = typer.Argument(..., help="open311 | video | assign"), name: str = typer.Argument(...)) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    from cityloop.channels.service import add_key

    if kind not in ("open311", "video", "assign"):
        console.print("[red]kind 必须是 open311、video 或 assign / kind must be open311, video or assign[/red]")
        raise typer.Exit(2)
    raw = secrets.token_urlsafe(24)
    with _session() as session:
        add_key(session, kind, name, raw, _now())
        session.commit()
    console.print(f"[green]{kind} API key for {name}:[/green] {raw}")


@gazetteer_app.command("load")
def gazetteer_load(file: Path, source: str = typer.Option(None, help="source name (default: file name)")) -> None:
    """Load a gazetteer CSV (name,kind,lon,lat[,alias,address,coord_sys]); replaces entries of the same source."""
    from cityloop.channels.gazetteer import load_csv
    from cityloop.shared.errors import AppError

    with _session() as session:
        try:
            count = load_csv(session, file.read_text(encoding="utf-8"), source or file.name)
        except AppError as exc:
            console.print(f"[red]{exc.zh}[/red] / {exc.en}")
            raise typer.Exit(1) from exc
        session.commit()
    console.print(f"[green]已载入 / loaded[/green] {count}")


@gazetteer_app.command("regions")
def gazetteer_regions() -> None:
    """Add every town and community with a boundary to the gazetteer."""
    from cityloop.channels.gazetteer import load_regions

    with _session() as session:
        count = load_regions(session)
        session.commit()
    console.print(f"[green]已载入 / loaded[/green] {count}")


@app.command("cameras")
def cameras_import(file: Path) -> None:
    """Register cameras from a CSV (code,name,lon,lat[,site,coord_sys]); each is placed in its unit grid."""
    from cityloop.channels.schemas import CameraIn
    from cityloop.channels.video import register_cameras
    from cityloop.geo.queries import build_index
    from cityloop.shared.errors import AppError

    at = [1]  # the CSV line being read, for the error message

    def rows(fh: TextIO) -> Iterator[tuple[str, CameraIn]]:
        for at[0], rec in enumerate(csv.DictReader(fh), start=2):
            yield rec["code"], CameraIn.model_validate({
                "name": rec["name"], "site": rec.get("site") or None, "lon": float(rec["lon"]),
                "lat": float(rec["lat"]), "coord_sys": rec.get("coord_sys") or "wgs84"})

    with _session() as session, file.open(encoding="utf-8-sig") as fh:
        try:
            count = register_cameras(session, build_index(session).locate, rows(fh), _now())
        except (AppError, ValueError, KeyError) as exc:
            console.print(f"[red]第 {at[0]} 行无效 / line {at[0]} is invalid:[/red] {exc}")
            raise typer.Exit(1) from exc
    console.print(f"[green]已登记 / registered[/green] {count}")


@app.command("evidence")
def evidence_check() -> None:
    """Check every case photo not checked yet (EXIF time/place, perceptual hash)."""
    from cityloop.channels import evidence

    settings, total = _settings(), 0
    with _session() as session:
        while (n := evidence.examine(session, settings, _now())) > 0:
            total += n
    console.print(f"已检查照片 / photos checked: {total}")


@simulate_app.command("video")
def simulate_video(events: int = typer.Option(20, help="how many captures"), seed: int = 7) -> None:
    """Send captures from random registered cameras through the video intake (repeats included)."""
    import io

    from PIL import Image
    from sqlalchemy import select

    from cityloop.cases.api import Ctx
    from cityloop.channels import service, video
    from cityloop.channels.models import Camera
    from cityloop.channels.schemas import VideoEventIn
    from cityloop.geo.queries import build_index
    from cityloop.sla.service import calendar

    settings, rng = _settings(), random.Random(seed)
    with _session() as session:
        cameras = list(session.scalars(select(Camera.code).where(Camera.active.is_(True))))
        if not cameras:
            console.print("[yellow]没有登记的摄像头 / no cameras registered[/yellow]")
            raise typer.Exit(1)
        locate, cal, now = build_index(session).locate, calendar(session, settings), _now()
        opened = repeats = 0
        for n in range(events):
            image = Image.new("RGB", (64, 48), tuple(rng.randrange(256) for _ in range(3)))
            buf = io.BytesIO()
            image.save(buf, "JPEG")
            body = VideoEventIn(camera_id=rng.choice(cameras[:max(3, events // 3)]),
                                event_type=rng.choice(sorted(settings.video_event_categories)),
                                confidence=round(rng.uniform(0.5, 0.99), 2),
                                captured_at=now - timedelta(minutes=events - n), event_id=f"sim-{seed}-{n}")
            ctx = Ctx(session, settings, cal, now, service.channel_actor("video"))
            out = video.ingest(ctx, body, ("sim.jpg", buf.getvalue()), locate)
            opened += out.created
            repeats += out.repeat
    console.print(f"视频抓拍 / captures: {events}, 新案件 / new cases: {opened}, 重复 / repeats: {repeats}")
