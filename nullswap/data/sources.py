"""Real face photographs that package registries ship, pinned by archive sha256.

These are the only faces available on an offline machine; :mod:`nullswap.data.sample` aligns them into
the offline sample set.  Raw photos are extracted once into ``$NULLSWAP_HOME/faces/raw``.
"""

from __future__ import annotations

from pathlib import Path

from nullswap.assets import RegistryArchive, cache_root, extract_member

PHOTO_ARCHIVES: dict[str, RegistryArchive] = {
    "face_recognition": RegistryArchive(
        "pypi", "face-recognition", "1.3.0", "face_recognition-1.3.0.tar.gz",
        "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec", 3_182_249,
        "MIT (face_recognition test images)",
    ),
    "insightface": RegistryArchive(
        "pypi", "insightface", "2.1", "insightface-2.1-py3-none-any.whl",
        "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399", 1_169_452,
        "MIT (insightface sample images)",
    ),
    "face_api": RegistryArchive(
        "npm", "@vladmandic/face-api", "1.7.15", "vladmandic-face-api-1.7.15.tgz",
        "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031", 12_677_476,
        "MIT (face-api demo images)",
    ),
}


def raw_photo(archive: str, member: str, sha256: str | None = None) -> Path:
    """Extract one photo ``member`` of registry archive ``archive`` (a key of :data:`PHOTO_ARCHIVES`)."""
    source = PHOTO_ARCHIVES[archive]
    dest = cache_root() / "faces" / "raw" / archive / member.replace("/", "__")
    return extract_member(source, member, dest, sha256)
