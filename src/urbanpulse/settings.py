"""Every setting UrbanPulse reads, in one place (environment prefix ``URBANPULSE_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings; each can be set as ``URBANPULSE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="URBANPULSE_", extra="ignore")

    lake_path: Path = Field(
        default=Path("var/lake"),
        description="Folder of the Parquet lake (created on first write).",
    )
    region: str = Field(
        default="jingjinji",
        description="Region of the built-in city catalogue; only 'jingjinji' ships today.",
    )
    holiday_country: str = Field(
        default="CN",
        description="Country whose public-holiday calendar defines day types in profiles.",
    )
    local_timezone: str = Field(
        default="Asia/Shanghai",
        description="Time zone in which day types and periods are computed.",
    )
    host: str = Field(default="127.0.0.1", description="Address the web app listens on.")
    port: int = Field(default=8000, description="Port the web app listens on.")
    demo_seed: int = Field(default=2026, description="Seed of the synthetic demo city cluster.")
    demo_weeks: int = Field(default=8, description="Weeks of 5-minute data the demo generates.")
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis server for shared counters when several API workers run.",
    )
