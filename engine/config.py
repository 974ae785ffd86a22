"""Settings: defaults in code, then ``BRIDGEFLOW_*`` environment variables, then overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import RetryPolicy
    from .scripting import WorkerLimits


PSYCOPG_PREPARE_THRESHOLD = 5  # psycopg 3's own default


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///instance/bridgeflow.db"
    # PostgreSQL behind a transaction-pooling PgBouncer: "none" (or 0) turns psycopg's
    # server-side prepared statements off; a number: prepare after that many runs; empty:
    # psycopg's own default (5).
    database_prepare_threshold: str = ""
    # The one connection per process that LISTENs for NOTIFY must be a session of its own
    # (PostgreSQL directly, or a session-mode pool); empty: database_url.
    listen_database_url: str = field(default="", repr=False)
    processes_dir: str = "processes"
    environment: str = "development"
    secret_key: str = "dev-only-secret"
    max_body_bytes: int = 1_000_000
    job_lease_seconds: float = 60.0
    worker_poll_seconds: float = 0.2
    worker_batch_size: int = 20
    worker_heartbeat_seconds: float = 5.0
    worker_alive_seconds: float = 30.0
    # Scripts and expressions (engine/scripting): the sandbox's own limits, then the hard
    # ones the operating system enforces on the worker processes that run them.
    script_time_limit: float = 1.0
    script_max_size: int = 1_000_000
    script_cpu_limit: float = 2.0  # CPU seconds per call (ITIMER_PROF ends the worker)
    script_memory_mb: int = 512  # address space of each worker (RLIMIT_AS)
    script_max_output_bytes: int = 16_000_000  # a result or the variables a script hands back
    script_workers: int = 2  # worker processes per engine process
    # The console's "Run tests": each run is a job, run in a child process under these.
    test_run_seconds: float = 45.0  # wall clock per run (kept under job_lease_seconds)
    test_run_memory_mb: int = 1024  # address space of the child process (RLIMIT_AS)
    test_run_max_output_bytes: int = 1_000_000  # the results of one run
    test_run_max_queued: int = 2  # runs one person may have waiting per version
    retry_attempts: int = 3
    retry_backoff_seconds: float = 10.0
    retry_backoff_factor: float = 2.0
    retry_backoff_max_seconds: float = 3600.0
    checkpoint_every_step: bool = False
    # A timer start event whose cycle fires more often than this is refused at deployment.
    min_start_cycle_seconds: float = 60.0
    run_worker_in_web: bool = True
    # CRM webhooks: the shared secret of their HMAC signature; empty refuses every webhook.
    webhook_secret: str = field(default="", repr=False)
    # Field mappings and e-mail notifications (service_tasks.mapping, service_tasks.notify).
    mappings_dir: str = "processes/mappings"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_security: str = "none"  # none, starttls or ssl
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_sender: str = ""
    smtp_timeout: float = 10.0
    # The ERP (Tryton JSON-RPC) and the CRM (Salesforce REST); empty URL: not connected.
    erp_url: str = ""
    erp_database: str = "erp"
    erp_user: str = "admin"
    erp_password: str = field(default="", repr=False)
    erp_warehouse: str = "WH"
    crm_url: str = ""
    crm_client_id: str = "bridgeflow"
    crm_client_secret: str = field(default="", repr=False)
    crm_token_url: str = ""
    connector_timeout: float = 10.0
    # The business calendar of ${business_hours_from_now(n)} in due dates and timers.
    business_days: str = "mon-fri"
    business_hours: str = "09:00-17:00"
    business_timezone: str = "UTC"
    # People: sessions, sign-in throttling, demo users (development only).
    session_cookie_secure: bool = False  # always on when environment is production
    session_lifetime_minutes: int = 480
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    # Spraying one password over many names: counted per address, per name and overall too.
    login_max_failures_per_name: int = 10
    login_max_failures_per_address: int = 20
    login_max_failures_global: int = 200
    demo_users: bool = True
    # Personal data: variables sealed at rest (AES-256-GCM) and masked on pages and in events;
    # names or dotted paths, case-insensitive, * and ? as wildcards (engine.protect).
    personal_variables: str = "*email,*email_address,*phone,*phone_number,*mobile,*mobile_number"
    encryption_keys: str = field(default="", repr=False)  # kid:base64,…; the first encrypts
    personal_data_groups: str = "finance,support"  # may see them unmasked (admins always)
    # History: ended instances are removed this many days after they end, unless their
    # process says otherwise (camunda:historyTimeToLive); the worker cleans up every interval.
    history_ttl_days: int = 180
    history_cleanup_interval_seconds: float = 3600.0  # 0: the worker never cleans up
    history_cleanup_batch_size: int = 500
    # PostgreSQL: ended instances move out of the live table this long after they end (and
    # once the dashboard's figures have counted them, about 5 minutes); -1: never (archive.py)
    history_archive_after_seconds: float = 86400.0
    # PostgreSQL: events partitions made this many months ahead at each cleanup run
    history_partition_months_ahead: int = 3
    # Stored reports: the largest report (all its files together) kept, in bytes
    report_max_bytes: int = 20_000_000
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 **overrides: Any) -> Settings:
        """Build settings from ``BRIDGEFLOW_<NAME>`` variables, then keyword overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"BRIDGEFLOW_{f.name.upper()}")
            if raw is None or f.name == "extra":
                continue
            values[f.name] = _convert(raw, type(getattr(cls(), f.name)), f.name)
        return replace(cls(**values), **overrides)

    def __post_init__(self) -> None:
        self.prepare_threshold()  # a bad value stops the start, before anything connects

    def prepare_threshold(self) -> int | None:
        """psycopg's ``prepare_threshold`` from ``database_prepare_threshold``; a clear
        error for anything but empty, ``none`` or a whole number."""
        raw = self.database_prepare_threshold.strip().lower()
        if raw in ("none", "0"):
            return None
        if raw == "":
            return PSYCOPG_PREPARE_THRESHOLD
        if not raw.isdigit():
            raise ValueError("BRIDGEFLOW_DATABASE_PREPARE_THRESHOLD must be a whole number, "
                             f"or none (or 0) for no prepared statements, not "
                             f"{self.database_prepare_threshold!r}")
        return int(raw)

    def postgres_connect_args(self) -> dict[str, Any]:
        """psycopg's connect arguments these settings ask for (none: its defaults)."""
        if not self.database_prepare_threshold.strip():
            return {}
        return {"prepare_threshold": self.prepare_threshold()}

    def retry_policy(self) -> RetryPolicy:
        """The one default retry policy: failed service calls and failed jobs alike."""
        from .registry import RetryPolicy

        return RetryPolicy(self.retry_attempts, self.retry_backoff_seconds,
                           self.retry_backoff_factor, self.retry_backoff_max_seconds)

    def script_limits(self) -> WorkerLimits:
        """The limits of the script worker processes."""
        from .scripting import WorkerLimits

        return WorkerLimits(self.script_time_limit, self.script_max_size, self.script_cpu_limit,
                            self.script_memory_mb, self.script_max_output_bytes,
                            self.script_workers)

    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))


def _convert(raw: str, kind: type, name: str) -> Any:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"BRIDGEFLOW_{name.upper()} must be true or false, not {raw!r}")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"BRIDGEFLOW_{name.upper()} must be a number, not {raw!r}") from None
    return raw
