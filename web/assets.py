"""Copy the browser libraries the web UI needs from ``node_modules`` into ``web/static/vendor``.

The libraries come from npm (``package.json`` + ``package-lock.json`` at the project root) and are
served by Flask from our own static folder: nothing is loaded from a CDN at run time.

    npm ci --ignore-scripts      # exact versions from package-lock.json, no install scripts
    python -m web.assets         # -> web/static/vendor/..., vendor/MANIFEST.json
    python web/assets.py         # same, without importing the `web` package (the Flask app)

The layout under ``vendor/`` is flat and predictable (see ``ASSETS`` below), e.g.
``vendor/bpmn-js/bpmn-modeler.production.min.js`` or ``vendor/form-js/form-viewer.umd.js``.
Files referenced by ``url(...)`` in a copied CSS file (icon fonts) are copied along, keeping their
path relative to the CSS file. ``vendor/MANIFEST.json`` lists every file with its npm package,
version, source path and SHA-256. Each package's licence file is copied too (``LICENSE``).

The form-js UMD bundles are shipped unminified by npm; when the ``esbuild`` devDependency is
installed they are minified with it (same file names). Without esbuild they are copied as they are.

This module must stay importable without Flask (it runs in the set-up step, before the app).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import posixpath
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ASSETS", "Asset", "AssetError", "install_assets", "main"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NODE_MODULES = PROJECT_ROOT / "node_modules"
DEFAULT_STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIRNAME = "vendor"
MANIFEST_NAME = "MANIFEST.json"

# esbuild target for the minified form-js bundles. The bundles already use ES2022 syntax (class
# fields), so es2022 keeps the syntax level unchanged. A lower target would make esbuild add
# helpers as top-level `var`s - globals in a classic <script> - which can clash between the
# viewer and editor bundles on one page.
ESBUILD_TARGET = "es2022"


class AssetError(RuntimeError):
    """node_modules is missing, incomplete or does not match package.json."""


@dataclass(frozen=True)
class Asset:
    package: str  # npm package name
    source: str  # path inside the package (posix)
    dest: str  # path inside vendor/ (posix)
    minify: bool = False  # minify with esbuild when available


def _dist(package: str, vendor_dir: str, source: str, *, minify: bool = False) -> Asset:
    """``dist/assets/x.css`` / ``dist/x.js`` of ``package`` -> ``<vendor_dir>/x.css`` / ``x.js``."""
    rel = source.removeprefix("dist/").removeprefix("assets/")
    return Asset(package, source, f"{vendor_dir}/{rel}", minify)


# Everything the pages load. The global each script defines is noted for template authors.
ASSETS: tuple[Asset, ...] = (
    # bpmn-js: both bundles define the global `BpmnJS` -> load only one of them per page.
    _dist("bpmn-js", "bpmn-js", "dist/bpmn-modeler.production.min.js"),
    _dist("bpmn-js", "bpmn-js", "dist/bpmn-navigated-viewer.production.min.js"),
    _dist("bpmn-js", "bpmn-js", "dist/assets/diagram-js.css"),
    _dist("bpmn-js", "bpmn-js", "dist/assets/bpmn-js.css"),
    # palette / context-pad icons (woff inlined; the .eot/.svg fallbacks it names are copied too)
    _dist("bpmn-js", "bpmn-js", "dist/assets/bpmn-font/css/bpmn-embedded.css"),
    # form-js: globals `FormViewer` (FormViewer.Form, FormViewer.createForm) and
    # `FormEditor` (FormEditor.FormEditor, FormEditor.createFormEditor).
    _dist("@bpmn-io/form-js", "form-js", "dist/form-viewer.umd.js", minify=True),
    _dist("@bpmn-io/form-js", "form-js", "dist/form-editor.umd.js", minify=True),
    # form-js.css includes the flatpickr (date picker) styles; form-js-editor.css already
    # includes the properties-panel and drag-and-drop (draggle) styles. The editor page
    # needs both form-js.css and form-js-editor.css.
    _dist("@bpmn-io/form-js", "form-js", "dist/assets/form-js.css"),
    _dist("@bpmn-io/form-js", "form-js", "dist/assets/form-js-editor.css"),
    # dmn-js: both bundles define the global `DmnJS` -> load only one of them per page.
    _dist("dmn-js", "dmn-js", "dist/dmn-modeler.production.min.js"),
    _dist("dmn-js", "dmn-js", "dist/dmn-navigated-viewer.production.min.js"),
    _dist("dmn-js", "dmn-js", "dist/assets/diagram-js.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-js-shared.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-js-drd.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-js-decision-table.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-js-decision-table-controls.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-js-literal-expression.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-js-boxed-expression.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-js-boxed-expression-controls.css"),
    _dist("dmn-js", "dmn-js", "dist/assets/dmn-font/css/dmn-embedded.css"),
    # htmx 2.0.x: global `htmx`
    _dist("htmx.org", "htmx", "dist/htmx.min.js"),
    # Chart.js 4 UMD (already minified): global `Chart`. Its source map is copied so the
    # sourceMappingURL comment does not point at a missing file.
    _dist("chart.js", "chart.js", "dist/chart.umd.min.js"),
    _dist("chart.js", "chart.js", "dist/chart.umd.min.js.map"),
    # jsdiff: global `Diff` (Diff.diffLines, Diff.createTwoFilesPatch, ...)
    _dist("diff", "diff", "dist/diff.min.js"),
)

# Licence file copied per package, into the directory its files go to.
LICENSE_FILES: dict[str, tuple[str, str]] = {
    "bpmn-js": ("LICENSE", "bpmn-js/LICENSE"),
    "@bpmn-io/form-js": ("LICENSE", "form-js/LICENSE"),
    "dmn-js": ("LICENSE", "dmn-js/LICENSE"),
    "htmx.org": ("LICENSE", "htmx/LICENSE"),
    "chart.js": ("LICENSE.md", "chart.js/LICENSE.md"),
    "diff": ("LICENSE", "diff/LICENSE"),
}

_CSS_URL = re.compile(r"""url\(\s*(?:'([^']*)'|"([^"]*)"|([^'")\s][^)]*?))\s*\)""")
_CSS_IMPORT = re.compile(r"@import\b")
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _package_info(node_modules: Path, package: str) -> dict:
    pkg_json = node_modules / package / "package.json"
    if not pkg_json.is_file():
        raise AssetError(
            f"npm package {package!r} is not installed in {node_modules} "
            "(run npm ci --ignore-scripts first)"
        )
    return _read_json(pkg_json)


def _check_pins(node_modules: Path, versions: dict[str, str]) -> None:
    """Fail if node_modules does not hold the exact versions package.json pins (stale install)."""
    package_json = node_modules.parent / "package.json"
    if not package_json.is_file():
        return
    manifest = _read_json(package_json)
    pins = {**manifest.get("devDependencies", {}), **manifest.get("dependencies", {})}
    stale = [
        f"{name}: installed {installed}, package.json pins {pins[name]}"
        for name, installed in sorted(versions.items())
        if name in pins and _EXACT_VERSION.match(pins[name]) and pins[name] != installed
    ]
    if stale:
        raise AssetError(
            "node_modules does not match package.json (run npm ci --ignore-scripts again): "
            + "; ".join(stale)
        )


def _css_references(css_text: str) -> list[str]:
    """Relative file references in url(...) of a CSS file (data:, absolute and #ids skipped)."""
    refs: list[str] = []
    for match in _CSS_URL.finditer(css_text):
        url = next(g for g in match.groups() if g is not None).strip()
        if not url or url.startswith(("data:", "#")):
            continue
        if "://" in url or url.startswith("//"):
            raise AssetError(f"CSS references external URL {url!r}: it would load at run time")
        path = url.split("#", 1)[0].split("?", 1)[0]
        if path and path not in refs:
            refs.append(path)
    return refs


def _find_esbuild(node_modules: Path) -> Path | None:
    exe = node_modules / ".bin" / ("esbuild.cmd" if sys.platform == "win32" else "esbuild")
    return exe if exe.exists() else None


def _minify(esbuild: Path, src: Path, dest: Path, banner: str) -> None:
    cmd = [
        str(esbuild),
        str(src),
        "--minify",
        f"--target={ESBUILD_TARGET}",
        "--log-level=warning",
        f"--banner:js={banner}",
        f"--outfile={dest}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssetError(f"esbuild failed for {src}:\n{result.stderr.strip()}")
    body = dest.read_text(encoding="utf-8").removeprefix(banner).lstrip()
    if body.startswith(("var ", "let ", "const ")):
        raise AssetError(
            f"esbuild put top-level declarations (globals) in front of {src.name}; "
            f"its syntax is newer than ESBUILD_TARGET={ESBUILD_TARGET}"
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Vendor:
    """The ``vendor/`` folder being written: copies files out of node_modules and keeps the
    manifest's entry for each file written."""

    def __init__(self, node_modules: Path, directory: Path, versions: dict[str, str]) -> None:
        self.node_modules = node_modules
        self.dir = directory
        self.versions = versions
        self.written: list[Path] = []
        self.entries: list[dict] = []

    def record(self, package: str, source: str, dest_rel: str, **extra: str) -> None:
        dest = self.dir / dest_rel
        self.written.append(dest)
        self.entries.append(
            {
                "path": dest_rel,
                "package": package,
                "version": self.versions[package],
                "source": source,
                "sha256": _sha256(dest),
                "size": dest.stat().st_size,
                **extra,
            }
        )

    def copy(self, package: str, source: str, dest_rel: str) -> Path:
        package_dir = (self.node_modules / package).resolve()
        src = (package_dir / source).resolve()
        if not src.is_relative_to(package_dir) or not src.is_file():
            raise AssetError(
                f"{package} {self.versions[package]} has no {source} "
                "(did the package layout change? update ASSETS in web/assets.py)"
            )
        dest = self.dir / dest_rel
        if not dest.resolve().is_relative_to(self.dir.resolve()):
            raise AssetError(f"destination {dest_rel!r} is outside {self.dir}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return src


def _install_minified(
    vendor: _Vendor, asset: Asset, esbuild: Path, esbuild_version: str | None
) -> None:
    version = vendor.versions[asset.package]
    src = vendor.node_modules / asset.package / asset.source
    if not src.is_file():
        raise AssetError(f"{asset.package} {version} has no {asset.source}")
    dest = vendor.dir / asset.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    banner = (
        f"/*! {asset.package} {version} {posixpath.basename(asset.source)}"
        " | bpmn.io/license | minified with esbuild */"
    )
    _minify(esbuild, src, dest, banner)
    vendor.record(
        asset.package, asset.source, asset.dest, minified_with=f"esbuild {esbuild_version}"
    )


def _install_css_references(vendor: _Vendor, asset: Asset, src: Path) -> None:
    """Copies the files a vendored CSS file names in url(...), at the same relative paths."""
    css_text = src.read_text(encoding="utf-8")
    if _CSS_IMPORT.search(css_text):
        raise AssetError(f"{asset.package}/{asset.source} uses @import: vendor it by hand")
    for ref in _css_references(css_text):
        ref_source = posixpath.normpath(posixpath.join(posixpath.dirname(asset.source), ref))
        ref_dest = posixpath.normpath(posixpath.join(posixpath.dirname(asset.dest), ref))
        if ref_dest.startswith("../") or ref_source.startswith("../"):
            raise AssetError(f"{asset.source} references {ref!r} outside its package")
        if (vendor.dir / ref_dest).exists():
            continue
        vendor.copy(asset.package, ref_source, ref_dest)
        vendor.record(asset.package, ref_source, ref_dest, referenced_by=asset.dest)


def _write_manifest(vendor: _Vendor, infos: dict[str, dict]) -> Path:
    manifest = {
        "generated_by": "python -m web.assets (from node_modules; do not edit)",
        "packages": {
            name: {"version": vendor.versions[name], "license": infos[name].get("license")}
            for name in sorted(infos)
        },
        "files": vendor.entries,
    }
    manifest_path = vendor.dir / MANIFEST_NAME
    manifest_path.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest_path


def install_assets(
    node_modules: Path,
    static_dir: Path,
    *,
    minify: bool | None = None,
) -> list[Path]:
    """Copy the vendored browser files into ``static_dir / "vendor"``; return the files written.

    ``static_dir/vendor`` is recreated from scratch, so stale files never linger. The returned
    list holds every file written (licence files included), with ``MANIFEST.json`` last.
    ``minify``: None = minify the form-js bundles if esbuild is installed, True = require esbuild,
    False = copy them as they are.
    """
    node_modules = Path(node_modules)
    static_dir = Path(static_dir)
    if not node_modules.is_dir():
        raise AssetError(f"{node_modules} does not exist: run npm ci --ignore-scripts first")

    packages = sorted({a.package for a in ASSETS})
    infos = {name: _package_info(node_modules, name) for name in packages}
    versions = {name: info["version"] for name, info in infos.items()}

    esbuild = _find_esbuild(node_modules) if minify is not False else None
    if minify and esbuild is None:
        raise AssetError("esbuild is not installed (run npm ci --ignore-scripts, with dev deps)")
    esbuild_version = _package_info(node_modules, "esbuild")["version"] if esbuild else None
    versions_to_check = {**versions, "esbuild": esbuild_version} if esbuild else versions
    _check_pins(node_modules, versions_to_check)

    vendor_dir = static_dir / VENDOR_DIRNAME
    if vendor_dir.exists():
        shutil.rmtree(vendor_dir)
    vendor_dir.mkdir(parents=True)
    vendor = _Vendor(node_modules, vendor_dir, versions)

    for asset in ASSETS:
        if asset.minify and esbuild is not None:
            _install_minified(vendor, asset, esbuild, esbuild_version)
            continue
        src = vendor.copy(asset.package, asset.source, asset.dest)
        vendor.record(asset.package, asset.source, asset.dest)
        if asset.dest.endswith(".css"):
            _install_css_references(vendor, asset, src)

    for package, (source, dest_rel) in sorted(LICENSE_FILES.items()):
        vendor.copy(package, source, dest_rel)
        vendor.record(package, source, dest_rel)

    return [*vendor.written, _write_manifest(vendor, infos)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m web.assets",
        description="Copy browser libraries from node_modules into the Flask static folder.",
    )
    parser.add_argument("--node-modules", type=Path, default=DEFAULT_NODE_MODULES)
    parser.add_argument("--static-dir", type=Path, default=DEFAULT_STATIC_DIR)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--minify",
        dest="minify",
        action="store_true",
        default=None,
        help="require esbuild to minify the form-js bundles",
    )
    group.add_argument(
        "--no-minify",
        dest="minify",
        action="store_false",
        help="copy the form-js bundles unminified",
    )
    args = parser.parse_args(argv)

    if not args.node_modules.is_dir():
        print(
            f"web.assets: {args.node_modules} is missing - run npm ci --ignore-scripts first "
            "(in the project root)",
            file=sys.stderr,
        )
        return 2
    try:
        files = install_assets(args.node_modules, args.static_dir, minify=args.minify)
    except AssetError as exc:
        print(f"web.assets: {exc}", file=sys.stderr)
        return 1

    vendor = args.static_dir / VENDOR_DIRNAME
    total = sum(f.stat().st_size for f in files)
    manifest = _read_json(vendor / MANIFEST_NAME)
    print(f"web.assets: wrote {len(files)} files ({total / 1e6:.1f} MB) to {vendor}")
    for name, info in manifest["packages"].items():
        print(f"  {name} {info['version']}")
    if not any("minified_with" in e for e in manifest["files"]):
        print("  (form-js bundles copied unminified: esbuild not installed or --no-minify)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
