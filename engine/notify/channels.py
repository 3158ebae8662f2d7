"""Delivery channels for the notification outbox: e-mail over SMTP (stdlib smtplib) and the
group-chat robots of DingTalk (钉钉), WeCom (企业微信) and Feishu (飞书).

Each `send_*` raises `DeliveryFailed` (or a network error) when the message was not accepted;
the dispatcher then retries with back-off. Nothing here touches the database.

Robot message formats (their custom-robot webhooks):
* DingTalk: `{"msgtype": "markdown", "markdown": {"title", "text"}}`; with 加签 security the URL
  gets `timestamp` (ms) and `sign` = urlencode(base64(HMAC-SHA256(secret, f"{ts}\\n{secret}"))).
  Answers `{"errcode": 0, "errmsg": "ok"}` (HTTP 200 also for errors: errcode decides).
* WeCom: `{"msgtype": "markdown", "markdown": {"content"}}` (content ≤ 4096 bytes); answers
  `{"errcode": 0, ...}`.
* Feishu: `{"msg_type": "text", "content": {"text"}}`; with signature verification the body also
  carries `timestamp` (s) and `sign` = base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b"")).
  Answers `{"code": 0, "msg": "success"}` (older bots: `{"StatusCode": 0}`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.notify.ops_settings import RobotConfig, SmtpConfig

WECOM_MAX_BYTES = 4096


class DeliveryFailed(Exception):
    """The channel refused or could not take the message."""


def send_email(config: SmtpConfig, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="planflow")
    message.set_content(body, charset="utf-8")
    smtp_class = smtplib.SMTP_SSL if config.ssl else smtplib.SMTP
    with smtp_class(config.host, config.port, timeout=config.timeout) as smtp:
        if config.starttls and not config.ssl:
            smtp.starttls()
        if config.user:
            smtp.login(config.user, config.password)
        refused = smtp.send_message(message)
    if refused:
        raise DeliveryFailed(f"recipients refused: {refused}")


def dingtalk_body(title: str, text: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def wecom_body(title: str, text: str) -> dict[str, Any]:
    content = f"**{title}**\n{text}"
    raw = content.encode("utf-8")
    if len(raw) > WECOM_MAX_BYTES:
        content = raw[: WECOM_MAX_BYTES - 3].decode("utf-8", errors="ignore") + "…"
    return {"msgtype": "markdown", "markdown": {"content": content}}


def feishu_body(title: str, text: str) -> dict[str, Any]:
    return {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}


def dingtalk_url(url: str, secret: str, now_ms: int | None = None) -> str:
    if not secret:
        return url
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={ts}&sign={sign}"


def feishu_sign(secret: str, ts: int) -> str:
    digest = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_robot(config: RobotConfig, title: str, text: str) -> None:
    if config.channel == "dingtalk":
        url, body = dingtalk_url(config.url, config.secret), dingtalk_body(title, text)
    elif config.channel == "wecom":
        url, body = config.url, wecom_body(title, text)
    elif config.channel == "feishu":
        url, body = config.url, feishu_body(title, text)
        if config.secret:
            ts = int(time.time())
            body = {"timestamp": str(ts), "sign": feishu_sign(config.secret, ts), **body}
    else:
        raise DeliveryFailed(f"unknown robot channel {config.channel!r}")
    answer = _post_json(url, body, config.timeout)
    _check_answer(config.channel, answer)


def _post_json(url: str, body: dict[str, Any], timeout: float) -> Any:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    try:
        return json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeliveryFailed(f"answer is not JSON: {raw[:200]!r}") from exc


def _check_answer(channel: str, answer: Any) -> None:
    if not isinstance(answer, dict):
        raise DeliveryFailed(f"unexpected answer: {answer!r}"[:300])
    if channel == "feishu":
        code = answer.get("code", answer.get("StatusCode", 0))
        message = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code = answer.get("errcode", 0)
        message = answer.get("errmsg", "")
    if code not in (0, "0", None):
        raise DeliveryFailed(f"{channel} refused: {code} {message}"[:500])
