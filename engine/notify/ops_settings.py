"""Settings of the task operations and the notification channels.

Read from `Settings.extra` (tests, embedding) first, then from the environment as
`PLANFLOW_<KEY>` (e.g. `PLANFLOW_SMTP_HOST`, `PLANFLOW_DINGTALK_WEBHOOK`), then the default.
Kept apart from `engine.settings.Settings` so the deployment can add robots and mail servers
without touching the core settings object.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.settings import Settings

# Every event the notifier knows; webhook robots get all of them unless `webhook_events` says.
EVENTS = (
    "task_assigned",
    "reminder",
    "task_overdue",
    "returned",
    "withdrawn",
    "cc",
    "instance_completed",
    "incident",
)

DEFAULTS: dict[str, str] = {
    "remind_interval_seconds": "3600",
    "smtp_host": "",
    "smtp_port": "25",
    "smtp_from": "planflow@localhost",
    "smtp_user": "",
    "smtp_password": "",
    "smtp_starttls": "0",
    "smtp_ssl": "0",
    "smtp_timeout_seconds": "10",
    "dingtalk_webhook": "",
    "dingtalk_secret": "",
    "wecom_webhook": "",
    "feishu_webhook": "",
    "feishu_secret": "",
    "webhook_timeout_seconds": "10",
    "webhook_events": ",".join(EVENTS),
    "notify_retry_base_seconds": "30",
    "notify_max_attempts": "6",
    # thread: deliver after commit in a background thread; manual: only `deliver_due` / CLI.
    "notify_dispatcher": "thread",
    # Groups told when a task is overdue (SLA breach / escalation).
    "escalation_groups": "planning_manager",
    # Public address of the UI, for links in messages (optional).
    "base_url": "",
}


def get(settings: Settings, key: str, environ: dict[str, str] | None = None) -> str:
    if key in settings.extra:
        return str(settings.extra[key])
    env = os.environ if environ is None else environ
    value = env.get(f"PLANFLOW_{key.upper()}")
    if value is not None:
        return value
    return DEFAULTS.get(key, "")


def get_int(settings: Settings, key: str) -> int:
    try:
        return int(float(get(settings, key)))
    except (ValueError, OverflowError):  # "abc", "nan"; "inf", "1e999"
        return int(DEFAULTS[key])


def get_float(settings: Settings, key: str) -> float:
    try:
        return float(get(settings, key))
    except ValueError:
        return float(DEFAULTS[key])


def get_flag(settings: Settings, key: str) -> bool:
    return get(settings, key).strip().lower() in ("1", "true", "yes", "on")


def get_list(settings: Settings, key: str) -> list[str]:
    return [v.strip() for v in get(settings, key).split(",") if v.strip()]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str
    password: str
    starttls: bool
    ssl: bool
    timeout: float


def smtp_config(settings: Settings) -> SmtpConfig | None:
    host = get(settings, "smtp_host")
    if not host:
        return None
    return SmtpConfig(
        host=host,
        port=get_int(settings, "smtp_port"),
        sender=get(settings, "smtp_from"),
        user=get(settings, "smtp_user"),
        password=get(settings, "smtp_password"),
        starttls=get_flag(settings, "smtp_starttls"),
        ssl=get_flag(settings, "smtp_ssl"),
        timeout=get_float(settings, "smtp_timeout_seconds"),
    )


@dataclass(frozen=True)
class RobotConfig:
    channel: str  # dingtalk | wecom | feishu
    url: str
    secret: str
    timeout: float


def robot_configs(settings: Settings) -> list[RobotConfig]:
    timeout = get_float(settings, "webhook_timeout_seconds")
    out = []
    for channel in ("dingtalk", "wecom", "feishu"):
        url = get(settings, f"{channel}_webhook")
        if url:
            secret = get(settings, f"{channel}_secret") if channel != "wecom" else ""
            out.append(RobotConfig(channel, url, secret, timeout))
    return out
