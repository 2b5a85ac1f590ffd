"""The one settings object (env prefix CITYLOOP_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-demo-only"


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as CITYLOOP_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CITYLOOP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/cityloop.db"
    demo: bool = False
    secret_key: str = DEFAULT_SECRET
    token_minutes: int = 12 * 60
    media_dir: Path = Path("var/media")
    max_upload_bytes: int = 10 * 1024 * 1024
    max_photos: int = 6
    thumb_size: int = 320

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
            "accept": 30, "verify": 60, "file": 30, "dispatch": 30, "check": 60, "close": 30,
        }
    )

    login_max_failures: int = 5
    login_lock_minutes: int = 15
    sweep_interval_seconds: int = 60

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if not self.demo and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "CITYLOOP_SECRET_KEY 仍为默认值，仅演示模式可用 / the default secret key is only allowed in demo mode "
                "(set CITYLOOP_SECRET_KEY or CITYLOOP_DEMO=1)"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """Settings read once from the environment."""
    return Settings()
