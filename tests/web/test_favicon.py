"""/favicon.ico: every browser asks for it; the app answers with its icon, not a 404 (issue 14)."""

from __future__ import annotations

import struct


def test_favicon_is_an_icon_for_everyone(client) -> None:
    r = client.get("/favicon.ico")  # no login: browsers ask before anyone has logged in
    assert r.status_code == 200
    assert r.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    reserved, kind, count = struct.unpack("<HHH", r.data[:6])
    assert (reserved, kind) == (0, 1) and count >= 1  # an ICO file with at least one image
    sizes = {r.data[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32} <= sizes
