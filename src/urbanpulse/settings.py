"""Every setting UrbanPulse reads, in one place (environment prefix ``URBANPULSE_``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

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
    vacuum_grace_minutes: float = Field(
        default=60.0,
        ge=0.0,
        description=(
            "'lake vacuum' keeps files that left the live set less than this long ago, "
            "since a reader that listed them before may still be reading them."
        ),
    )
    lake_checkpoint_interval: int = Field(
        default=100,
        ge=0,
        description=(
            "Every this many commits the lake writes a checkpoint of its live files, so "
            "opening it reads the checkpoint and the commits after it (0: never)."
        ),
    )
    lake_compact_min_files: int = Field(
        default=8,
        ge=2,
        description=(
            "'lake compact' and live ingest merge the small files of an observations "
            "partition (metric, month) into few files sorted by site and time once it "
            "holds this many."
        ),
    )
    lake_retention: bool = Field(
        default=True,
        description=(
            "Remove raw observations older than lake_raw_retention_days, keeping their "
            "hourly and daily rollups ('lake retain' and live ingest's maintenance)."
        ),
    )
    lake_raw_retention_days: float = Field(
        default=400.0,
        gt=0.0,
        description=(
            "Days of raw observations kept, counted back from a metric's newest "
            "observation (or now, if earlier); whole older months leave once rolled up. "
            "400 keeps a year and the same season of the year before for forecasts."
        ),
    )
    holiday_country: str = Field(
        default="CN",
        description="Country whose public-holiday calendar defines day types in profiles.",
    )
    local_timezone: str = Field(
        default="Asia/Shanghai",
        description="Time zone in which day types and periods are computed.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description=(
            "Engine that answers the store's questions (profiles, period aggregates, "
            "panels, rollups): 'duckdb' embedded, or 'spark' for lakes past one machine "
            '(pip install "urbanpulse[spark]"). The CLI\'s --engine sets it too.'
        ),
    )
    spark_master: str = Field(
        default="local[*]",
        description="Spark master of the Spark engine: local[*] on this machine or spark://host:7077.",
    )
    spark_remote: str | None = Field(
        default=None,
        description="Spark Connect URL (sc://host:15002); when set, used instead of spark_master.",
    )
    host: str = Field(default="127.0.0.1", description="Address the web app listens on.")
    port: int = Field(default=8000, description="Port the web app listens on.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto "
            'are believed (JSON list, e.g. ["10.0.0.5"]). Empty: none, not even '
            "localhost, so no caller can pick the address its rate limit counts against."
        ),
    )
    max_concurrent_requests: int = Field(
        default=4,
        ge=1,
        description=(
            "Requests at work at once; the rest wait their turn (the health check and "
            "static files never wait), so heavy routes queue instead of starving the rest."
        ),
    )
    queue_wait_seconds: float = Field(
        default=30.0,
        gt=0.0,
        description="Longest wait for a turn; then 503 with Retry-After.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description=(
            "Concurrent connections the server accepts before it answers 503 at once, so "
            "a flood of connections cannot take every file descriptor."
        ),
    )
    keep_alive_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Seconds an idle keep-alive connection stays open.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a connection has to send a request's head (its first "
        "byte to the blank line) before it is answered 408 and closed.",
    )
    demo_seed: int = Field(default=2026, description="Seed of the synthetic demo city cluster.")
    demo_weeks: int = Field(default=8, description="Weeks of 5-minute data the demo generates.")
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis server for shared counters when several API workers run.",
    )
    counters_backend: Literal["memory", "redis"] = Field(
        default="memory",
        description=(
            "Where the advice service counts the recommendations it has issued: 'memory' "
            "(one process) or 'redis' (shared by several API workers, at redis_url)."
        ),
    )
    redis_timeout_seconds: float = Field(
        default=0.25,
        gt=0.0,
        description=(
            "Longest wait for Redis to connect or answer one command; past it the advice "
            "counters and rate limits count in the process (and say so) for a while."
        ),
    )
    redis_retry_seconds: float = Field(
        default=30.0,
        ge=0.0,
        description="After a Redis failure, how long to count in the process before trying it again.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=0,
        description="Largest request body accepted; a larger one gets 413 before it is read.",
    )
    rate_limit_per_minute: dict[str, int] = Field(
        default={"public": 600, "business": 1200, "government": 3000, "admin": 3000},
        description=(
            "Requests per minute per caller, by scope (JSON in the environment); an API "
            "key counts on its own, an anonymous client by its address. Over it: 429 "
            "with Retry-After. A scope left out is not limited per minute."
        ),
    )
    quota_per_day: dict[str, int] = Field(
        default={"public": 50_000, "business": 200_000},
        description="Requests per day per caller, by scope (JSON); a scope left out has no quota.",
    )
    ngsi_temporal_instance_limit: int = Field(
        default=1000,
        ge=1,
        description=(
            "Instances of one attribute an NGSI-LD temporal answer holds; when an "
            "attribute has more, the answer holds a range of instants, says which "
            "(206 with Content-Range), and the next one is read from its end."
        ),
    )
    ngsild_contexts: dict[str, Path] = Field(
        default={},
        description=(
            "JSON-LD @context documents NGSI-LD terms are expanded against, by the URL "
            "they are published at -> a local file (JSON in the environment). The "
            "server never fetches a context from the network."
        ),
    )
    cors_origins: list[str] = Field(
        default=[],
        description=(
            "Web origins (e.g. 'https://app.example.com') whose pages may call the API "
            "from a browser (JSON list in the environment); none by default."
        ),
    )
    advice_holdout_share: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description=(
            "Share of advice requests, drawn at random, that get no recommendation, so "
            "operators can measure what advice changes against this holdout group."
        ),
    )
    clock: datetime | None = Field(
        default=None,
        description=(
            "Fixed 'now' of the advice service (naive = local_timezone), for demos and "
            "tests. Empty: the real clock, except on a lake whose data ended more than a "
            "day ago (the demo), where now is the local midnight after the last "
            "observation, so the planning day is the first day without data."
        ),
    )
    privacy_key_dir: Path = Field(
        default=Path("var/keys"),
        description=(
            "Folder of the secret keys that pseudonymise personal identifiers (one key per "
            "calendar month, created on first use, readable by the owner only). It must "
            "lie outside the lake: whoever holds the lake must not hold the keys."
        ),
    )
    privacy_k: int = Field(
        default=10,
        ge=2,
        description=(
            "Smallest count a public cell of personal data may show; cells below it are "
            "suppressed (k-anonymity threshold)."
        ),
    )
    privacy_epsilon_budget: float = Field(
        default=1.0,
        gt=0.0,
        description=(
            "Differential-privacy budget (epsilon) that noised releases of one dataset "
            "may spend per key period (calendar month); a release beyond it is refused."
        ),
    )
    privacy_max_taps_per_card: int = Field(
        default=4,
        ge=1,
        description=(
            "Taps of one card per key period that a noised release counts (contribution "
            "bound): the sensitivity the noise is scaled to."
        ),
    )
    privacy_period_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
        description="Length of the periods in which station entries and exits are counted.",
    )
    privacy_tap_minutes: int = Field(
        default=5,
        ge=1,
        le=60,
        description=(
            "Stored tap times are the start of their bucket of this many minutes (local "
            "time; it must divide privacy_period_minutes): one known tap then singles out "
            "3.6 % of cards instead of 92.7 % at the second (bench/linkage.py)."
        ),
    )
    privacy_tap_retention_days: int = Field(
        default=92,
        ge=1,
        description=(
            "Trip-level taps of a month are deleted this many days after the month ends "
            "(at each ingest and by 'privacy purge'); published counts and flows stay."
        ),
    )
    privacy_station_counts: Literal["exact", "noised"] = Field(
        default="exact",
        description=(
            "How a lake publishes station counts of taps, one way only: 'exact' (cells "
            "below privacy_k blanked; noised releases refused, as exact figures beside "
            "them would undo the noise) or 'noised' (no exact counts or entries/exits "
            "observations published; 'privacy release' makes the noised ones). Choose "
            "before the first ingest: what was published stays published."
        ),
    )
    access_db: Path | None = Field(
        default=None,
        description=(
            "SQLite file of the embedded store of API keys and the audit log (needs no "
            "server). Empty: access.sqlite3 beside the lake folder, never inside it."
        ),
    )
    access_db_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL connection URL (libpq form, e.g. 'postgresql://user@host/db') of "
            "the store of API keys and the audit log, for deployments; overrides access_db."
        ),
    )
    audit_seal_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the audit log's secret key and its signed head (last sequence and "
            "hash), which reveal re-hashed, forged or cut entries. Keep it apart from the "
            "access store (another volume or host-only storage). Empty: audit-seal beside "
            "the lake folder."
        ),
    )
    oidc_issuer: str | None = Field(
        default=None,
        description=(
            "Issuer ('iss') of the city's OpenID Connect identity provider; set, a "
            "government user may call the API with a bearer JWT it signed."
        ),
    )
    oidc_audience: str | None = Field(
        default=None,
        description="Audience ('aud') a bearer JWT must name to be accepted.",
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="URL of the identity provider's JWKS (its public signing keys).",
    )
    oidc_jwks_file: Path | None = Field(
        default=None,
        description="The identity provider's JWKS as a file, for offline deployments.",
    )
    oidc_scope_claim: str = Field(
        default="roles",
        min_length=1,
        description=(
            "The token claim that lists a person's roles or groups: 'roles', 'groups', or "
            "a dotted path such as 'realm_access.roles'."
        ),
    )
    oidc_claim_scopes: dict[str, Literal["business", "government", "admin"]] = Field(
        default={"urbanpulse-government": "government", "urbanpulse-admin": "admin"},
        description=(
            "Which scope each role of oidc_scope_claim gives (JSON in the environment); "
            "a token with none of these roles is refused, the widest of several wins."
        ),
    )
    live_stale_after_s: float = Field(
        default=600.0,
        gt=0.0,
        description=(
            "The live crowding view calls a line section's feed stale when its newest "
            "reading is older than this many seconds (twice the demo's 5-minute step)."
        ),
    )
    mqtt_host: str = Field(
        default="127.0.0.1", description="Host of the MQTT broker live observations arrive through."
    )
    mqtt_port: int = Field(default=1883, description="Port of the MQTT broker.")
    mqtt_topics: list[str] = Field(
        default=["urbanpulse/#"],
        description=(
            "Topics (MQTT filters, JSON list in the environment) 'stream mqtt' subscribes "
            "to with QoS 1."
        ),
    )
    mqtt_client_id: str = Field(
        default="urbanpulse-stream",
        description=(
            "Client id of the MQTT subscriber. Its session on the broker is persistent, "
            "so messages sent while it is down wait there under this id: keep it fixed."
        ),
    )
    stream_batch_size: int = Field(
        default=10_000,
        ge=1,
        le=30_000,
        description=(
            "Messages per micro-batch committed to the lake (and then acknowledged). Keep "
            "it under half the broker's max_inflight_messages (stream/mosquitto.conf)."
        ),
    )
    stream_batch_seconds: float = Field(
        default=1.0,
        gt=0.0,
        description="Longest wait before a micro-batch with fewer messages is committed.",
    )
    stream_allow_new_sites: bool = Field(
        default=False,
        description=(
            "Register sites first seen in live data; if off, their observations go to "
            "quarantine as 'unknown site'."
        ),
    )
    stream_maintain_minutes: float = Field(
        default=5.0,
        ge=0.0,
        description=(
            "Every this many minutes a stream compacts, rolls up and retains the lake "
            "(as 'lake compact' and 'lake retain'); 0: never."
        ),
    )
    live_stream_max_s: float = Field(
        default=300.0,
        ge=0.0,
        description=(
            "Longest life of one /api/live/stream connection; browsers reconnect by "
            "themselves, and proxies drop idle long-lived connections anyway. 0: the "
            "stream sends the current snapshot and ends."
        ),
    )
