"""Local receivers for the notification tests: a minimal SMTP server (socketserver, no
aiosmtpd) and an HTTP server standing in for the DingTalk / WeCom / Feishu robots, with a
programmable number of failures per path."""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage


class _SMTPHandler(socketserver.StreamRequestHandler):
    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        server: SMTPServer = self.server  # type: ignore[assignment]
        self._send("220 planflow-test ESMTP")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._send("250-planflow-test")
                self._send("250 8BITMIME")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip().strip("<>"), []
                self._send("250 OK")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                self._send("250 OK")
            elif verb == "DATA":
                self._send("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    data_line = self.rfile.readline()
                    if data_line in (b".\r\n", b".\n", b""):
                        break
                    if data_line.startswith(b".."):
                        data_line = data_line[1:]
                    chunks.append(data_line)
                message = email.message_from_bytes(b"".join(chunks), policy=email.policy.default)
                server.mails.append(Mail(sender, recipients, message))  # type: ignore[arg-type]
                self._send("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._send("250 OK")
            elif verb == "QUIT":
                self._send("221 Bye")
                return
            else:
                self._send("502 Command not implemented")


class SMTPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.mails: list[Mail] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> SMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()


@dataclass
class Hit:
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class RobotServer:
    """POST /<path>: records the JSON body; `fail[path] = n` answers the next n requests to it
    with a failure (`how[path]`: "http500" or "errcode")."""

    hits: list[Hit] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                path = url.path.strip("/")
                robot.hits.append(Hit(path, parse_qs(url.query), body))
                if robot.fail.get(path, 0) > 0:
                    robot.fail[path] -= 1
                    if robot.how.get(path) == "http500":
                        self.send_response(500)
                        self.end_headers()
                        self.wfile.write(b"boom")
                        return
                    answer = (
                        {"code": 19021, "msg": "sign match fail"}
                        if path == "feishu"
                        else {"errcode": 310000, "errmsg": "keywords not in content"}
                    )
                else:
                    answer = (
                        {"code": 0, "msg": "success", "data": {}}
                        if path == "feishu"
                        else {"errcode": 0, "errmsg": "ok"}
                    )
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RobotServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by_path(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]
