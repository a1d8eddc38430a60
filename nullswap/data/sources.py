"""Which of the real face photographs that package registries ship make up the offline sample set.

The archives themselves (pinned by sha256) and the extraction of one photo live one floor down, in
:mod:`nullswap.faces.registry_photos`, where the recognizers' frame fits use them too; this module only
chooses and labels photos.  :mod:`nullswap.data.sample` aligns them into the offline sample set.

:data:`SAMPLE_PHOTOS` lists every *distinct* photograph the sample set uses, with how many faces it
contributes and which of them share an identity; :data:`EXCLUDED_PHOTOS` lists the image files in the
same archives that are left out, each with its reason (copies or crops of a listed photo, masked faces
whose identity is unreliable, non-face images).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nullswap.faces.registry_photos import PHOTO_ARCHIVES

_FR = "face_recognition-1.3.0/tests/test_images/"
_IF = "insightface/data/images/"
_FA = "package/demo/"
_NS = "nsface/"


class ArchiveMember:
    """A file inside a registry archive; its ``stem`` names the faces taken from it (``archive/stem/…``).

    A plain mixin, not a dataclass, so that it adds no field to the source lists' dataclasses (their
    fields make up the face sets' configuration hashes).
    """

    member: str

    @property
    def stem(self) -> str:
        return Path(self.member).stem


@dataclass(frozen=True)
class SamplePhoto(ArchiveMember):
    """One distinct photograph in the offline sample set.

    ``faces`` is how many faces the sample keeps from it (checked at build time: a different count
    means the detector behaves differently from when the list was made).  ``identity`` names the
    person when the photo shows one known person who also appears elsewhere or is named by the file;
    ``None`` gives every face its own identity.
    """

    archive: str
    member: str
    faces: int
    identity: str | None = None
    licence: str | None = None
    note: str = ""


SAMPLE_PHOTOS: tuple[SamplePhoto, ...] = (
    # One person photographed three times: the only true cross-photo identity offline.
    SamplePhoto("face_recognition", _FR + "obama.jpg", 1, "obama"),
    SamplePhoto("face_recognition", _FR + "obama2.jpg", 1, "obama"),
    SamplePhoto("face_recognition", _FR + "obama3.jpg", 1, "obama"),
    SamplePhoto("face_recognition", _FR + "biden.jpg", 1, "biden"),
    SamplePhoto("insightface", _IF + "t1.jpg", 6, None, note="six people around a table, faces ~110 px"),
    SamplePhoto("insightface", _IF + "Tom_Hanks_54745.png", 1, "tom_hanks", note="112×112, already aligned"),
    SamplePhoto("face_api", _FA + "sample1.jpg", 3),
    SamplePhoto("face_api", _FA + "sample2.jpg", 3, note="two faces turned down (lower detector scores)"),
    SamplePhoto("face_api", _FA + "sample3.jpg", 3),
    SamplePhoto("face_api", _FA + "sample4.jpg", 4),
    SamplePhoto("face_api", _FA + "sample5.jpg", 5),
    SamplePhoto("face_api", _FA + "sample6.jpg", 4),
    SamplePhoto("nsface", _NS + "test_images/01.jpg", 7, note="classroom group photo, small faces"),
    SamplePhoto("nsface", _NS + "test_images/test_3ddfa.jpg", 2, note="two debaters"),
    SamplePhoto("nsface", _NS + "test_images/test_crop.jpg", 1, note="120×120 portrait"),
    SamplePhoto("nsface", _NS + "test_images/test3.jpg", 1, note="security-camera frame"),
    SamplePhoto("nsface", _NS + "ref_images/ref_ori.png", 1, note="security-camera frame"),
    SamplePhoto(
        "skimage",
        "skimage/data/astronaut.png",
        1,
        "astronaut",
        licence="public domain (NASA photograph, shipped with scikit-image)",
    ),
)

SAME_PERSON: dict[str, tuple[str, ...]] = {
    # face-api's demo photos are from one photo series, and some models appear in two of them.  Each
    # group below was found by comparing every pair of sample faces with three independent
    # recognizers: dlib's ResNet (L2 distance, "same" below 0.6), SFace (cosine, "same" above 0.363)
    # and MobileFaceNet (cosine); each pair is within every one's same-person threshold, while no pair
    # of faces from one photo (necessarily different people) is.
    # dlib 0.42, SFace 0.69, MobileFaceNet 0.80: as close as the Obama photos (0.33–0.44, 0.71–0.77,
    # 0.79–0.81); visual inspection agrees.
    "face_api_a": ("face_api/sample1/2", "face_api/sample3/1"),
    # dlib 0.55, SFace 0.51, MobileFaceNet 0.53.
    "face_api_b": ("face_api/sample1/1", "face_api/sample4/0"),
    # dlib 0.59, SFace 0.41, MobileFaceNet 0.48.
    "face_api_c": ("face_api/sample4/1", "face_api/sample6/2"),
}
"""Identity → face keys (``archive/photo-stem/face-index``, faces numbered left to right) of one
person photographed in several pictures, beyond the photos that carry an identity themselves."""

EXCLUDED_PHOTOS: dict[tuple[str, str], str] = {
    ("face_recognition", _FR + "32bit.png"): "RGBA copy of obama2.jpg (same photo)",
    ("face_recognition", _FR + "obama_partial_face.jpg"): "crop of obama.jpg (same photo)",
    ("face_recognition", _FR + "obama_partial_face2.jpg"): "crop of obama.jpg (same photo)",
    ("insightface", _IF + "mask_black.jpg"): "a face mask on its own, no face",
    ("insightface", _IF + "mask_blue.jpg"): "a face mask on its own, no face",
    ("insightface", _IF + "mask_green.jpg"): "a face mask on its own, no face",
    ("insightface", _IF + "mask_white.jpg"): "a face mask on its own, no face",
    ("face_api", _FA + "facemesh.png"): "illustration, not a photo",
    ("face_api", _FA + "screenshot-images.png"): "screenshot of the demo page (copies of the samples)",
    ("face_api", _FA + "screenshot-webcam.png"): "screenshot of the demo page",
    ("nsface", _NS + "test_images/test_3ddfa_result.jpg"): "test_3ddfa.jpg with boxes drawn on it",
    ("nsface", _NS + "ref_images/ref_M_30.jpg"): "aligned crop of ref_ori.png (same photo)",
    ("nsface", _NS + "test_images/p3.jpg"): (
        "faces covered by surgical masks; the same office staff appear unmasked elsewhere, so "
        "one-identity-per-face labels would be wrong"
    ),
    ("nsface", _NS + "test_images/test2.jpg"): "masked faces (see p3.jpg)",
    **{
        ("nsface", _NS + ".ipynb_checkpoints/" + name): "editor checkpoint copy of a listed or excluded file"
        for name in (
            "ref_ori-checkpoint.png",
            "test2-checkpoint.jpg",
            "test3-checkpoint.jpg",
            "test_3ddfa-checkpoint.jpg",
            "test_3ddfa_result-checkpoint.jpg",
            "test_crop-checkpoint.jpg",
        )
    },
    ("nsface", _NS + "ref_images/.ipynb_checkpoints/ref_M_30-checkpoint.jpg"): "editor checkpoint copy",
}


def licence_of(photo: SamplePhoto) -> str:
    if photo.licence is not None:
        return photo.licence
    return PHOTO_ARCHIVES[photo.archive].licence
