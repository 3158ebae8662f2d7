"""One frozen settings object, built once (from the environment or by a test) and passed down."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    timezone: str = "Asia/Shanghai"
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    script_time_limit: float = 1.0
    # Cap on one upload (BPMN/DMN/form); larger files are refused before parsing.
    max_model_bytes: int = 2 * 1024 * 1024
    scheduler_poll_seconds: float = 1.0
    scheduler_enabled: bool = True
    # Due timers woken per transaction (each instance in its own savepoint; engine.timing.timers).
    timer_batch_size: int = 50
    service_retry_limit: int = 3
    service_retry_base_seconds: float = 30.0
    token_ttl_hours: int = 24 * 30
    # Mark the session cookie Secure: turn on whenever the UI is served over HTTPS.
    secure_cookies: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A misspelt zone fails at start-up, not as wrong times on every page.
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"PLANFLOW_TIMEZONE: unknown time zone {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        """The department's time zone (`engine.wall_clock`: what people read and type)."""
        return ZoneInfo(self.timezone)  # zoneinfo keeps one instance per key

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        instance_dir = Path(env.get("PLANFLOW_INSTANCE_DIR", str(Path.cwd() / "instance")))
        default_db = f"sqlite:///{instance_dir / 'planflow.sqlite3'}"
        secret = env.get("PLANFLOW_SECRET_KEY") or _instance_secret(instance_dir)
        return cls(
            database_url=env.get("PLANFLOW_DATABASE_URL", default_db),
            secret_key=secret,
            timezone=env.get("PLANFLOW_TIMEZONE", "Asia/Shanghai"),
            bpmn_dir=Path(env.get("PLANFLOW_BPMN_DIR", str(PROJECT_ROOT / "bpmn"))),
            script_time_limit=float(env.get("PLANFLOW_SCRIPT_TIME_LIMIT", "1.0")),
            scheduler_poll_seconds=float(env.get("PLANFLOW_SCHEDULER_POLL_SECONDS", "1.0")),
            scheduler_enabled=env.get("PLANFLOW_SCHEDULER", "on") != "off",
            timer_batch_size=int(env.get("PLANFLOW_TIMER_BATCH_SIZE", "50")),
            secure_cookies=env.get("PLANFLOW_SECURE_COOKIES", "0") == "1",
        )


def _instance_secret(instance_dir: Path) -> str:
    """A per-installation secret kept beside the SQLite file, so sessions survive restarts
    without anyone having to invent a key for a local install."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
