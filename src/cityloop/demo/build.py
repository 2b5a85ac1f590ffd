"""`cityloop demo`: the Lai'an county (来安县) demo database — real towns and communities, generated grids,
12 urban duty grids with 15 inspectors, village cells and an inspector in every town, 30 + 12 departments, every role, and three months of history."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import event, func, select

from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.shared.clock import SystemClock


def demo_logins() -> str:
    """The text printed after the demo is built."""
    return ("\n[bold]演示账号 / demo logins[/bold] (密码 password: [bold]demo[/bold])\n"
            "  admin 管理员 · operator1 受理员 · lead1 值班长 · dispatcher1 派遣员 · leader1 领导\n"
            "  inspector01 … inspector15 城区监督员 · inspector16 … inspector27 乡镇监督员 (每镇一名)\n"
            "  部门账号 = 部门代码 / department logins = department code: cgj, zjj, hwc, szc, zls, … t100 (新安镇) …\n"
            "  运输企业 / transport companies: ztc01 … ztc04 (渣土车企业平台 /portal)\n")


def _sqlite_path(url: str) -> Path | None:
    return Path(url.split("///", 1)[1]) if url.startswith("sqlite:///") else None


def _is_built(url: str) -> bool:
    from cityloop.cases.api import Case

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(select(func.count(Case.id))).scalar())
    except Exception:  # no database or no schema yet: not built
        return False
    finally:
        engine.dispose()


def build_demo(settings: Settings, console: Console, rebuild: bool = False, days: int = 90, per_day: int = 24) -> None:
    """Create the demo database unless it is already there. On SQLite it is built beside the target and moved into
    place only when complete, so an interrupted build never leaves a half-made demo."""
    target = _sqlite_path(settings.database_url)
    if not rebuild and (target is None or target.exists()) and _is_built(settings.database_url):
        console.print("演示数据库已存在 / demo database already built (use --rebuild to start over)")
        upgrade(settings.database_url)  # built by an older version: bring its schema up to this one
        _basemap(settings, console, rebuild=False)
        return
    url = settings.database_url
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        building = target.with_name(target.name + ".building")
        _remove(building)
        url = f"sqlite:///{building}"
    made = _build(settings.model_copy(update={"database_url": url}), console, days, per_day)
    if target is not None:
        _remove(target)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{building}{suffix}").exists():
                Path(f"{building}{suffix}").replace(f"{target}{suffix}")
    console.print(f"[green]演示数据已生成 / demo built:[/green] {made} 件案件 cases")
    _basemap(settings, console, rebuild=True)


def _basemap(settings: Settings, console: Console, rebuild: bool) -> None:
    """The demo's vector base map (offline, from the county data just built), unless one is installed already."""
    from cityloop.basemap import source

    path = Path(settings.map_tiles_path)
    if path.exists() and (not rebuild or not source.is_demo_map(path)):  # an imported map is never replaced
        return
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            count = source.build(session, path)
    finally:
        engine.dispose()
    console.print(f"[green]底图已生成 / base map built:[/green] {path} ({count} tiles)")


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _build(settings: Settings, console: Console, days: int, per_day: int) -> int:
    from cityloop.areas import modules
    from cityloop.cases.api import sweep
    from cityloop.demo import county
    from cityloop.demo.history import generate
    from cityloop.geo.coords import to_wgs84
    from cityloop.geo.queries import build_index

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":  # a .building file, thrown away if the build stops: no need to sync it
        event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=OFF"))
    now = SystemClock().now()
    try:
        with make_session_factory(engine)() as session, Progress(console=console) as progress:
            base = progress.add_task("县情数据 / county data", total=1)
            county.build_base(session, settings, now)
            progress.update(base, completed=1)
            task = progress.add_task("历史案件 / history", total=days + 1)
            index = build_index(session)
            made = generate(session, settings, county.places(session), now, days, per_day, index.locate, to_wgs84,
                            components=county.components_by_type(session),
                            progress=lambda done, total: progress.update(task, completed=done))
            sweep(session, settings, now)
            for module in modules("demo"):  # each area adds its demo data: sensors, trucks, service points …
                if hasattr(module, "build"):  # places.demo only holds helpers the channels demo uses
                    module.build(session, settings, now)
    finally:
        engine.dispose()  # the last connection to close folds the WAL into the file
    return made
