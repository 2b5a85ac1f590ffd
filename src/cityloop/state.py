"""AppState: the one typed object a running process shares (settings, engines, sessions, clock, caches).

Built by `cityloop.runtime.build_state` (create_app, the scheduler, CLIs and benchmarks), attached to a FastAPI app as
`app.state.cityloop` and reached from routes through the `Annotated` dependencies in `cityloop.deps`."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityloop.config import Settings
from cityloop.shared.clock import Clock

if TYPE_CHECKING:  # the areas' own types; importing them here at run time would turn the layers upside down
    from cityloop.cases.api import GroupCommitter
    from cityloop.catalog.cache import MatterCache
    from cityloop.db.changes import ChangeBus
    from cityloop.geo.index import GridIndex
    from cityloop.org.actor import Actor
    from cityloop.org.tokens import TokenVersions
    from cityloop.public.telephony import Telephony
    from cityloop.sensors.hj212_listener import Listener
    from cityloop.sensors.notify import Outbox
    from cityloop.sensors.pipeline import Ingestor
    from cityloop.basemap.files import TileFile
    from cityloop.fleet.gateway import Gateway
    from cityloop.fleet.ingest import Pipeline


@dataclass(eq=False)
class AppState:
    """What one process shares between requests and background tasks."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    clock: Clock
    matters: MatterCache
    intake: GroupCommitter
    changes: ChangeBus
    read_engine: Engine | None = None
    actor_cache: dict[int, tuple[float, Actor]] = field(default_factory=dict)  # user id → (fresh until, actor)
    # Made on first use by the area that owns each (a worker builds only what it needs):
    token_versions: TokenVersions | None = None  # the users' token versions, read in batches (cityloop.deps)
    grid_index: GridIndex | None = None
    grid_checked: float = 0.0
    sensor_ingestor: Ingestor | None = None
    sensor_notifier: Outbox | None = None
    sensor_hj212: Listener | None = None
    public_telephony: Telephony | None = None  # None is also what telephony_for answers when none is set up
    public_telephony_made: bool = False
    basemap_store: TileFile | None = None
    basemap_place: tuple[float, Any] | None = None
    fleet_pipeline: Pipeline | None = None
    fleet_gateway: Gateway | None = None
    fleet_gateway_port: int | None = None
    fleet_locate: Callable[[float, float], Any] | None = None  # the track replay's own grid lookup
    scheduler_leader: bool = False


def app_state(app: Any) -> AppState:
    """The AppState attached to a FastAPI/Starlette app (create_app or configure_state put it there)."""
    state: AppState = app.state.cityloop
    return state
