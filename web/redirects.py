"""Where a user-supplied redirect target (`?next=`, a form's `next`) may send the browser.

One rule for every redirect that takes a target from the request: only a path on this site.
Browsers are lenient about what they treat as "another host": they drop tabs and line breaks
anywhere in a URL (`/\t/evil.example` is `//evil.example`), strip leading control characters
and spaces, and read a backslash as a slash (`/\\evil.example`, `\\\\evil.example`). So the
target is normalised the way a browser would read it *before* it is judged, the judgement is
repeated on its percent-decoded form (a target decoded once more somewhere must not turn into
another host either), and whatever is accepted is sent percent-encoded (pure ASCII: nothing
can split or corrupt the `Location` header). Anything else, of any size or shape, answers the
caller's fallback (by default `/`): this function never raises.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

# Longer than any URL the UI builds (a list with all its filters is a few hundred characters).
MAX_TARGET_LENGTH = 2048

# What browsers silently remove from a URL before parsing it (WHATWG URL: tab, LF, CR).
_STRIPPED = re.compile(r"[\t\n\r]")
# What no same-site path of ours ever contains: other C0/C1 controls, DEL, any whitespace.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\s]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters sent as they are; everything else (non-ASCII, spaces, quotes, <>) is %-encoded.
_SAFE_CHARS = "/?&=#%:@!$'()*+,;~-._"


def _same_site_path(target: str) -> str | None:
    """The path as a browser would read it, or None when it could leave this site."""
    target = _STRIPPED.sub("", target)
    if not target or _FORBIDDEN.search(target) or _SURROGATE.search(target):
        return None
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None  # relative, scheme-relative (//host) or /\host
    if "\\" in target:
        return None  # a browser reads it as "/": never needed in our own paths
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return target


def safe_redirect_target(target: object, default: str = "/") -> str:
    """`target` if it is a path on this site (as a browser would read it), else `default`."""
    if not isinstance(target, str) or not target or len(target) > MAX_TARGET_LENGTH:
        return default
    path = _same_site_path(target)
    if path is None:
        return default
    # Decoded once more (a proxy, a framework, a later redirect), it must still stay here.
    if _same_site_path(unquote(path, errors="replace")) is None:
        return default
    return quote(path, safe=_SAFE_CHARS, errors="replace")
