#!/bin/sh
# Install what the browser tests (tests/browser) need, from Debian's apt repositories:
#   - chromium            -> /usr/bin/chromium, driven by Playwright (Python) via executable_path
#   - fonts-noto-cjk      -> so Chinese text renders in screenshots instead of tofu boxes
# Idempotent: installs only what is missing, and says what it did. Needs root (apt-get).
set -eu

CJK_FONT_PKG="${CJK_FONT_PKG:-fonts-noto-cjk}"

need=""
if [ -x /usr/bin/chromium ]; then
    echo "install-browser: chromium already installed (/usr/bin/chromium) - nothing to do"
else
    echo "install-browser: /usr/bin/chromium missing - will install chromium"
    need=" chromium"
fi

if dpkg-query -W -f='${Status}' "$CJK_FONT_PKG" 2>/dev/null | grep -q "install ok installed"; then
    echo "install-browser: $CJK_FONT_PKG already installed - nothing to do"
else
    echo "install-browser: $CJK_FONT_PKG missing - will install it (Chinese fonts for screenshots)"
    need="$need $CJK_FONT_PKG"
fi

if [ -z "$need" ]; then
    echo "install-browser: all present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-browser: must run as root to install:$need" >&2
    exit 1
fi

echo "install-browser: apt-get update"
apt-get update -q
echo "install-browser: apt-get install -y$need"
# shellcheck disable=SC2086  # $need is a space-separated package list on purpose
DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need

if [ ! -x /usr/bin/chromium ]; then
    echo "install-browser: chromium install finished but /usr/bin/chromium is still missing" >&2
    exit 1
fi
echo "install-browser: installed:$need"
/usr/bin/chromium --version 2>/dev/null || true
