"""The one settings object (env prefix CITYLOOP_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-demo-only-never-in-production!"
# Secrets published in this repository (deploy/cityloop.env.example) or shaped like a placeholder: anyone can sign
# tokens with them, so they are refused outside demo mode.
EXAMPLE_SECRETS = frozenset({DEFAULT_SECRET, "change-this-to-64-random-characters-0123456789abcdef0123456789ab",
                             "demo"})
PLACEHOLDER_WORDS = ("change-me", "change-this", "changeme", "changethis", "replace-me", "your-secret")


def is_example_secret(secret: str) -> bool:
    """True for the published example secrets and for values that still read like a placeholder."""
    folded = secret.strip().lower().replace("_", "-")
    return secret.strip() in EXAMPLE_SECRETS or any(word in folded for word in PLACEHOLDER_WORDS)


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as CITYLOOP_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CITYLOOP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/cityloop.db"
    # PostgreSQL behind PgBouncer in transaction mode: a URL with session semantics (PostgreSQL itself, or a
    # session-mode pool) for the two connections that need them — the change listener (LISTEN) and the scheduler's
    # lock. Empty: database_url.
    database_session_url: str = ""
    db_busy_timeout_seconds: float = 30.0  # SQLite: how long a write waits for the lock before a 503
    # PostgreSQL, per worker process (see docs/postgresql.md): pooled connections, extra ones under bursts, and
    # after how long idle a pooled connection is tested before use.
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(10, ge=0)
    db_ping_idle_seconds: float = Field(2.0, ge=0)
    ready_timeout_seconds: float = 3.0  # /readyz answers 503 when its test write takes longer
    demo: bool = False
    secret_key: str = DEFAULT_SECRET
    token_minutes: int = 12 * 60
    media_dir: Path = Path("var/media")
    max_upload_bytes: int = 10 * 1024 * 1024
    max_photos: int = 6
    max_request_bytes: int = 64 * 1024 * 1024  # a whole request (six photos and the form around them)
    thumb_size: int = 320
    # Photos: a pixel cap read from the header before decoding (a tiny PNG can decode to gigabytes), and how many
    # decodes may run at once in the process (others wait up to photo_decode_wait_seconds, then 503).
    max_photo_pixels: int = Field(40_000_000, ge=1)
    photo_decode_workers: int = Field(2, ge=1)
    photo_decode_wait_seconds: float = Field(30.0, gt=0)

    # Case numbers: <prefix><YYYYMMDD><5-digit daily sequence>, e.g. LA2026112300017.
    case_number_prefix: str = "LA"
    admin_code: str = "341122"
    timezone: str = "Asia/Shanghai"
    catalog_standard: str = "GB/T 47678.5-2026"

    # Working time: periods of the working day, local time, "HH:MM-HH:MM".
    work_periods: list[str] = Field(default_factory=lambda: ["08:00-12:00", "14:00-18:00"])
    # Node limits (受理, 核实, 立案, 派遣, 核查, 结案) in working minutes; 处置 comes from the filing condition.
    node_limits: dict[str, int] = Field(
        default_factory=lambda: {
            "accept": 30, "verify": 60, "file": 30, "dispatch": 30, "check": 60, "close": 30, "send_check": 30,
        }
    )
    # Workflow options (docs/workflow.md): who sends the 核查 task (auto: the platform, when the department reports
    # back; operator: the 受理员, within node_limits["send_check"]), whether the shift lead may 作废 without a
    # request (the reference: 申请 → 值班长审批), and a 督办单's default reply time (30m, 4h, 2d).
    check_dispatch: Literal["auto", "operator"] = "auto"
    void_direct: bool = False
    supervision_reply_limit: str = "1d"

    # Front-end libraries installed from npm (`make install`); served under /static/vendor.
    vendor_dir: Path = Path(__file__).resolve().parents[2] / "node_modules"
    secure_cookies: bool = False  # set true behind TLS
    # Map base layer: none by default (GeoJSON layers only); e.g. a 天地图 tile URL with your key.
    map_tile_url: str | None = None
    map_tile_attribution: str = ""
    # The base map, in this order of preference: a local MBTiles file served at /map/tiles (the demo builds one;
    # `cityloop map import FILE` installs one), else map_tile_url, else none. map_tile_crs says what the tiles are
    # drawn in: wgs84/cgcs2000 (天地图, most city servers) or gcj02 (then overlays are shifted to match).
    map_tiles_path: Path = Path("var/basemap.mbtiles")
    map_tile_crs: Literal["wgs84", "cgcs2000", "gcj02"] = "wgs84"
    screen_poll_seconds: float = 2.0  # how often the big screen's stream looks for changes
    # On SIGTERM `cityloop serve` lets open requests finish this long, then cancels them (streams end at once).
    shutdown_grace_seconds: float = 10.0
    # Areas this deployment does not run (their pages, APIs and server tasks are left out), e.g. ["fleet"].
    disabled_areas: list[str] = Field(default_factory=list)
    # Areas add their settings in their own block below (one settings object for the whole platform).
    # --- sensors (运行监测) ---
    sensor_mqtt_url: str = "mqtt://127.0.0.1:1883"  # mqtt://[user:password@]host:port
    sensor_tenant: str = "341122"  # topics are cityloop/<tenant>/devices/<device_id>/telemetry
    sensor_mqtt_group: str = "cityloop"  # shared subscription $share/<group>/… splits the load over workers
    sensor_flush_ms: int = 50  # the subscriber gathers messages this long before validating and storing them
    sensor_max_batch: int = 5000  # readings per HTTP request or MQTT message
    sensor_max_future_s: float = 300  # a reading further ahead of the server clock is refused
    sensor_retention_days: int = 90  # raw readings; rollups and alarms are kept longer
    sensor_rollup_retention_days: int = 730
    # Rule overrides per device type and rule, e.g. {"waterlogging": {"water_depth": {"levels": [["blue", 10], …]}}}
    sensor_rules: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    # 高考/中考 dates: noise limits near exam sites apply on these local dates.
    sensor_exam_dates: list[str] = Field(default_factory=lambda: [
        "2026-06-07", "2026-06-08", "2026-06-09", "2026-06-10", "2026-06-14", "2026-06-15", "2026-06-16"])
    # Alarm category -> [matter code, condition code]; overrides sensors.domain.CATEGORIES.
    sensor_categories: dict[str, list[str | None]] = Field(default_factory=dict)
    sensor_retrigger_minutes: int = 120  # a re-trigger within this time after a clear joins the same case
    sensor_gateway_keys: list[str] = Field(default_factory=list)  # X-Gateway-Key values allowed to POST telemetry
    # Who is told of warnings and case-level alarms: "sms:<phone>", "webhook:<url>", "email:<address>"; a
    # department's own contacts under its code in sensor_department_contacts.
    sensor_notify: list[str] = Field(default_factory=list)
    sensor_department_contacts: dict[str, list[str]] = Field(default_factory=dict)
    sensor_sms_url: str | None = None  # HTTP SMS gateway: POST {"phone", "text"}
    sensor_smtp_host: str | None = None
    sensor_smtp_from: str = "cityloop@localhost"
    sensor_state_flush_seconds: float = 5.0  # rule state and latest values are persisted this often
    sensor_jobs_interval_seconds: float = 30  # offline check, rollups, retention (one worker at a time)
    sensor_demo_interval_seconds: float = 10  # the demo's gentle live simulation
    # HJ 212 listener (`cityloop gateway hj212`; the demo server runs it too): CITYLOOP_SENSOR_HJ212_PORT or
    # CITYLOOP_HJ212_PORT. The host is 127.0.0.1 unless set: use 0.0.0.0 to take stations from the network.
    # (pydantic's mypy plugin flags every non-literal alias as if the field had no default: this one has)
    sensor_hj212_port: int = Field(7212, validation_alias=AliasChoices(  # type: ignore[pydantic-alias]
        "sensor_hj212_port", "CITYLOOP_SENSOR_HJ212_PORT", "CITYLOOP_HJ212_PORT"))
    sensor_hj212_host: str = "127.0.0.1"
    sensor_hj212_idle_seconds: float = 600  # a station silent this long is disconnected (it reconnects)
    # --- fleet (渣土车) ---
    jt808_port: int = 7808  # CITYLOOP_JT808_PORT: the JT/T 808 gateway (the demo server runs it too)
    jt808_host: str = "127.0.0.1"
    jt808_accept_bad_checksum: bool = True  # real terminals send some: accept, count and flag them
    jt808_idle_seconds: float = 200  # about three missed 60 s heartbeats
    fleet_gateway_in_server: bool = True  # demo mode: gateway and a small simulated fleet inside the server
    fleet_department_code: str = "cgj"  # the enforcement department (城管执法) violations are dispatched to
    # Violation kind → "matter code/filing condition" of the catalog (docs/fleet.md explains the choice).
    # An empty value: the violation is recorded (company, appeal, score) but opens no case.
    fleet_matters: dict[str, str] = Field(default_factory=lambda: {
        "speeding": "09018", "restricted": "09018", "off_route": "08005", "out_of_hours": "08005",
        "unpermitted": "08005", "dumping": "06011/02", "unsealed": "08011/01", "offline": "",
        "spilling": "06014", "spot_check": ""})
    fleet_default_speed_kmh: float = 50  # where no road or zone sets a limit
    fleet_speed_tolerance: float = 0.05  # speeding = above limit × (1 + tolerance)
    fleet_speeding_seconds: float = 15
    fleet_off_route_seconds: float = 60
    fleet_off_route_metres: float = 300
    fleet_out_of_hours_seconds: float = 60
    fleet_unpermitted_seconds: float = 120
    fleet_dumping_minutes: float = 10
    fleet_restricted_seconds: float = 10
    fleet_offline_minutes: float = 5
    fleet_unsealed_seconds: float = 60
    fleet_moving_kmh: float = 5
    fleet_position_retention_days: int = 90
    fleet_appeal_days: int = 7
    fleet_score_points: dict[str, int] = Field(default_factory=lambda: {
        "speeding": 2, "off_route": 3, "out_of_hours": 3, "unpermitted": 6, "dumping": 10, "restricted": 3,
        "offline": 2, "unsealed": 3, "spilling": 5, "spot_check": 3})
    fleet_blacklist_score: int = 60  # a company below this score is blacklisted: no new permits
    fleet_ingest_token: str | None = None  # forwarding platforms post positions with X-Fleet-Token
    fleet_mqtt_url: str | None = None  # e.g. mqtt://127.0.0.1:1883 — subscribe to forwarded positions
    fleet_mqtt_topic: str = "cityloop/fleet/positions"
    # --- channels (上报渠道) & open311 ---
    # 拍一拍 public reports: limits per client IP (per hour) and per phone (per day), kept in a table so every
    # worker shares them; free text that names no matter falls back to this one (the operator corrects it at 立案).
    public_reports_per_ip_hour: int = 30
    public_reports_per_phone_day: int = 10
    public_fallback_category: str = "06010"
    # Duplicates: an open case of the same matter this near (m) and this recent (h) is suggested as the parent.
    duplicate_radius_m: float = 100.0
    duplicate_window_hours: float = 72.0
    # Video analytics: below this confidence a capture is verified on site (核实) first; repeats of one camera's event
    # type within the window note the open case instead of opening another. Event types map to matter codes.
    video_min_confidence: float = 0.8
    video_repeat_minutes: float = 120.0
    video_event_categories: dict[str, str] = Field(default_factory=lambda: {
        "waste_pile": "08005", "material_pile": "08006", "garbage": "06010", "overflowing_bin": "06042",
        "street_vending": "09006", "illegal_parking": "09009", "site_dust": "08004", "wheel_mud": "08012",
        "uncovered_truck": "08011", "overtime_hauling": "08005", "road_spill": "06014"})
    # 沿街抛撒: a report of one of these matters is matched to the muck truck that passed nearest within the radius
    # (m) during the minutes before it (and a few after: a camera may see the spill as the truck passes).
    spill_categories: list[str] = Field(default_factory=lambda: ["06014"])
    spill_radius_m: float = 50.0
    spill_before_minutes: float = 30.0
    spill_after_minutes: float = 2.0
    # Photo evidence: EXIF position/time this far (m) or this old (h) against the report is flagged; two photos
    # whose perceptual hashes differ in at most this many bits count as the same picture.
    evidence_max_distance_m: float = 500.0
    evidence_max_age_hours: float = 24.0
    evidence_phash_bits: int = 6
    evidence_interval_seconds: float = 20.0
    # Open311 GeoReport v2: jurisdiction_id → district code when one endpoint serves several districts (empty: one
    # jurisdiction, jurisdiction_id ignored); the public base URL used in discovery and media_url (else the request's).
    open311_jurisdictions: dict[str, str] = Field(default_factory=dict)
    open311_contact: str = "来安县数字化城市管理监督指挥中心 12319"
    # What the public request feed shows: cases once an operator has accepted them (受理), only closed ones, or
    # every report at once (a report not yet reviewed then shows neither description nor address); positions are
    # rounded to this many decimals (3 ≈ 100 m). Photos appear only once staff mark them public.
    open311_publish_after: Literal["accepted", "closed", "immediately"] = "accepted"
    open311_position_decimals: int = Field(3, ge=0, le=6)
    public_base_url: str | None = None
    # --- assessment (综合评价) ---
    # The 考核办法 file (TOML/JSON) or a shipped preset name: "reference" (standards.md §6.2) or "deployed".
    assessment_method_file: str = "reference"
    # Composite weights per formula (department, region, inspector, operator, shift_lead, dispatcher), count bands
    # and grade thresholds over the method file's; empty = the method file's. See docs/assessment.md.
    assessment_weights: dict[str, dict[str, float]] = Field(default_factory=dict)
    assessment_bands: dict[str, list[list[float | None]]] = Field(default_factory=dict)
    assessment_grades: list[tuple[str, float]] = Field(default_factory=list)  # [["A", 90], ["B", 75], …]
    assessment_refresh_seconds: float = 30  # the server folds new case events into the assessment this often
    assessment_font: Path | None = None  # a CJK .ttf/.ttc for PDF reports (default: found under /usr/share/fonts)
    # --- public (公众服务) ---
    # QR codes encode <public_base_url>/public/q/<code> (public_base_url is set above; unset: http://127.0.0.1:8000).
    public_walk_detour: float = 1.3  # walking distance = straight line × this (no road graph; docs/public.md)
    public_walk_speed_m_min: float = 75.0  # ≈ 4.5 km/h
    public_nearby_max_m: float = 3000.0  # the phone page lists services within this walking distance
    public_sheet_max_codes: int = 20000  # QR codes in one PDF sheet request
    public_case_days: int = 90  # /public/cases shows cases closed in this many days
    # --- places (地理编码) ---
    geocode_max_query: int = Field(100, ge=10, le=1000)  # characters of a geocoding query; longer is a 422
    places_recheck_seconds: float = Field(30, ge=0, le=3600)  # case intake checks the places index this often
    # 追呼: an HTTP voice gateway (POST {"to", "caller_id", "recording", "ref"} → {"result", "duration", "id"});
    # none: calls are simulated in demo mode and not made otherwise.
    public_voice_gateway_url: str | None = None
    public_voice_gateway_token: str | None = None
    public_voice_caller_id: str = "12319"
    public_voice_timeout_seconds: float = 15.0
    public_call_recordings: dict[str, str] = Field(default_factory=lambda: {
        "1": "zhuihu-warning-1.wav", "2": "zhuihu-warning-2.wav", "3": "zhuihu-final.wav"})
    # Escalation: [from working day, calls per day]; a campaign ends after max days (working) or max calls.
    public_call_levels: list[list[int]] = Field(default_factory=lambda: [[1, 3], [3, 6], [6, 10]])
    public_call_max_days: int = 10
    public_call_max_calls: int = 80
    public_call_min_gap_minutes: int = 20
    public_dialer_interval_seconds: float = 30.0
    # Login throttling (counted in the database, so it holds across workers and hosts). After login_max_failures
    # attempts on one account from one IP, each further attempt waits login_delay_seconds, doubling up to
    # login_lock_minutes; the same for an account from all IPs (login_account_max_failures) and for one IP over all
    # accounts (login_ip_max_failures). A streak is forgotten after login_window_minutes without attempts.
    login_max_failures: int = Field(5, ge=1)
    login_account_max_failures: int = Field(50, ge=1)
    login_ip_max_failures: int = Field(50, ge=1)
    login_delay_seconds: int = Field(60, ge=1)
    login_lock_minutes: int = Field(15, ge=1)
    login_window_minutes: int = Field(60, ge=1)
    sweep_interval_seconds: float = 60
    # Background jobs (overdue sweep, areas' jobs and demo simulators) run inside each server worker, one worker at a
    # time where it matters; turn off when a separate `cityloop scheduler` process runs them.
    scheduler_in_server: bool = True
    # --- workorders (12345 工单) ---
    # The 12345 platform: outbound messages (签收, progress, 办结, 回访, 退单) are POSTed to workorder_platform_url;
    # both directions are signed with workorder_secret (HMAC-SHA256, docs/workorders-12345.md). Unset secret: the
    # webhook answers 503. The mapping file (TOML/JSON) maps the platform's field names and categories to ours.
    workorder_platform_url: str | None = None
    workorder_secret: SecretStr | None = None
    workorder_mapping_file: Path | None = None
    workorder_max_skew_seconds: float = Field(300, gt=0)  # older (or later) webhook timestamps are refused
    workorder_verify: bool = False  # whether a 工单 case goes to 核实 after 受理
    workorder_send_interval_seconds: float = Field(5, gt=0)
    workorder_retry_base_seconds: float = Field(10, gt=0)  # a failed message waits this long, doubling, up to max
    workorder_retry_max_seconds: float = Field(3600, gt=0)
    workorder_timeout_seconds: float = Field(10, gt=0)
    # --- audit (审计) ---
    # The key of the audit MACs (case events, the global chain, anchors); never stored in the database. Give it
    # as CITYLOOP_AUDIT_KEY or in a file (CITYLOOP_AUDIT_KEY_FILE, at least 32 bytes); neither: derived from
    # secret_key for this purpose only (then rotating secret_key needs the old derived key set here).
    audit_key: SecretStr | None = None
    audit_key_file: Path | None = None
    audit_seal_interval_seconds: float = 5  # new events and admin entries join the global chain this often
    # An append-only file outside the database that receives the chain head (CITYLOOP_AUDIT_ANCHOR_FILE);
    # unset: no anchors, and deleting the newest sealed entries together with the head goes unnoticed.
    audit_anchor_file: Path | None = None
    audit_anchor_interval_seconds: float = 300
    # --- exchange (数据交换/数据汇聚) ---
    # County side: the upper platform's receiver (e.g. https://city.example/api/v1/exchange/batches) and the key
    # shared with it; this platform's code is exchange_platform_code (default: admin_code). Unset URL: no outbox.
    exchange_upstream_url: str | None = None
    exchange_key: SecretStr | None = None
    exchange_platform_code: str | None = None
    # How batches are shaped for the upstream: another CityLoop (protocol v1), or the generic JSON field layout an
    # adapter to a provincial/national platform starts from (docs/exchange.md, "Adapters").
    exchange_adapter: Literal["cityloop", "national-json"] = "cityloop"
    # City side: platform code -> key of every county allowed to report here.
    exchange_downstream: dict[str, str] = Field(default_factory=dict)
    exchange_batch_size: int = Field(500, ge=1, le=5000)  # events per signed batch
    exchange_interval_seconds: float = Field(0.5, gt=0)  # idle sender polls (and heartbeats) this often
    exchange_timeout_seconds: float = Field(10.0, gt=0)
    exchange_backoff_max_seconds: float = Field(300.0, gt=0)
    exchange_max_skew_seconds: float = Field(300.0, gt=0)  # signed timestamps further off are refused
    # --- notifications (docs/notifications.md) ---
    notify_sms_url: str | None = None  # HTTP SMS gateway: POST {"message_id","phone","sign_name","template_code","params"}
    notify_sms_sign: str = "数字城管"  # 短信签名
    notify_sms_token: str | None = None  # sent as "Authorization: Bearer <token>"
    notify_sms_templates: dict[str, str] = Field(default_factory=dict)  # event kind → provider template code
    notify_sms_batch: int = 1  # >1: up to this many messages per request ({"messages": [...]}) where the gateway can
    notify_smtp_host: str | None = None
    notify_smtp_port: int = 25
    notify_smtp_from: str = "cityloop@localhost"
    notify_interval_seconds: float = 1.0  # the delivery worker polls the outbox this often when idle
    notify_batch: int = 200  # outbox rows claimed at once
    notify_lease_seconds: float = 60  # a row claimed by a worker that died is retried after this
    notify_max_attempts: int = 5  # then the row is parked with its last error
    notify_backoff_seconds: float = 5  # retry n waits backoff × 2^(n-1), at most an hour
    notify_rate_per_minute: int = 20  # per recipient address and channel; more waits, never dropped
    notify_timeout_seconds: float = 5

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if not self.demo and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "CITYLOOP_SECRET_KEY 仍为默认值，仅演示模式可用 / the default secret key is only allowed in demo mode "
                "(set CITYLOOP_SECRET_KEY or CITYLOOP_DEMO=1)"
            )
        if not self.demo and is_example_secret(self.secret_key):
            raise ValueError(
                "CITYLOOP_SECRET_KEY 是公开的示例值，任何人都能伪造登录令牌 / the secret key is a published example "
                "(or placeholder) anyone could sign tokens with: generate one, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        tokens: dict[str, list[str | None]] = {
            "CITYLOOP_FLEET_INGEST_TOKEN": [self.fleet_ingest_token],
            "CITYLOOP_SENSOR_GATEWAY_KEYS": list(self.sensor_gateway_keys),
            "CITYLOOP_PUBLIC_VOICE_GATEWAY_TOKEN": [self.public_voice_gateway_token],
            "CITYLOOP_WORKORDER_SECRET": [self.workorder_secret.get_secret_value() if self.workorder_secret else None]}
        for name, values in tokens.items():
            if not self.demo and any(v is not None and is_example_secret(v) for v in values):
                raise ValueError(f"{name} 是示例值或占位符 / {name} holds an example or placeholder value")
        if not self.demo and len(self.secret_key) < 32:
            raise ValueError("CITYLOOP_SECRET_KEY 至少 32 个字符 / the secret key needs at least 32 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def engine_options(self) -> dict[str, Any]:
        """make_engine's pool options for a server database (SQLite sizes its own pools)."""
        if self.is_sqlite:
            return {}
        return {"pool_size": self.db_pool_size, "max_overflow": self.db_max_overflow,
                "ping_idle_seconds": self.db_ping_idle_seconds}


@lru_cache
def _read_settings() -> Settings | ValueError:
    try:
        return Settings()
    except ValueError as exc:  # remembered too: case hooks ask on every event, and validation is slow
        return exc


class _SettingsReader:
    """`get_settings()`: the settings read once from the environment (an invalid environment raises its error, also
    read once); `get_settings.cache_clear()` reads them again next time (tests, the demo command)."""

    def __call__(self) -> Settings:
        got = _read_settings()
        if isinstance(got, ValueError):
            raise got
        return got

    def cache_clear(self) -> None:
        _read_settings.cache_clear()


get_settings = _SettingsReader()
