"""The paper's reported numbers (Tables 1–5), as data, under the harness's own names.

Every table this harness writes puts these numbers beside its own.  Names are mapped once, here:
methods to protector registry names, recognizers to recognizer registry names, swappers to swapper
adapter names, the ablation sessions to Table 5's protector column names.

Paper setting: CelebA-HQ official test split for Tables 1, 2, 3 and 5; LFW for Table 4; recognizers
from deepface (ArcFace, Facenet, VGG-Face, SFace); LPIPS v0.1 AlexNet.
"""

from __future__ import annotations

import pandas as pd

#: paper method name -> protector registry name
METHODS: dict[str, str] = {
    "Clean": "clean",
    "Initiative": "initiative",
    "Anti-Forgery": "antiforgery",
    "CMUA": "cmua",
    "DF-RAP": "dfrap",
    "NullSwap": "nullswap",
}
#: paper recognizer name -> recognizer registry name (the deepface implementations the paper used)
RECOGNIZERS: dict[str, str] = {
    "ArcFace": "arcface",
    "FaceNet": "facenet",
    "VGGFace": "vggface",
    "SFace": "sface-deepface",
}
#: harness recognizers that run the *same network* as a paper recognizer with other weights storage or
#: another front end; their rows show the paper's value, marked with this note.
RECOGNIZER_ALIASES: dict[str, tuple[str, str]] = {
    "sface": ("sface-deepface", "same OpenCV-Zoo SFace network as deepface's, int8 block-quantised weights"),
    "sface-onnx": (
        "sface-deepface",
        "same OpenCV-Zoo SFace network as deepface's, int8 block-quantised weights",
    ),
}
#: paper swapper name -> swapper adapter name
SWAPPERS: dict[str, str] = {
    "SimSwap": "simswap",
    "InfoSwap": "infoswap",
    "UniFace": "uniface",
    "E4S": "e4s",
    "DiffSwap": "diffswap",
}
#: paper Table 5 column -> session name (protector column of Table 5 cells)
SESSIONS: dict[str, str] = {
    "Session 1": "session1",
    "Session 2": "session2",
    "Session 3": "session3",
    "DLW": "dlw",
}
SESSION_DESCRIPTIONS: dict[str, str] = {
    "session1": "first training recognizer only (paper: ArcFace)",
    "session2": "second training recognizer only (paper: FaceNet)",
    "session3": "plain mean of both identity losses",
    "dlw": "dynamic loss weighting (the method)",
}
THREAT_MODELS: dict[str, str] = {
    "initiative": "grey-box",
    "antiforgery": "grey-box",
    "cmua": "white-box",
    "dfrap": "grey-box",
    "nullswap": "black-box",
}

#: which dataset each table was measured on in the paper (harness dataset names)
DATASETS: dict[str, str] = {
    "table1": "celebahq",
    "table2": "celebahq",
    "table3": "celebahq",
    "table4": "lfw",
    "table5": "celebahq",
}

#: which split each table was measured on in the paper
SPLITS: dict[str, str] = {"table1": "test", "table2": "test", "table3": "test", "table4": "all", "table5": "test"}
#: the published sizes of the splits the paper uses: (data set, split) -> (images, identities or None)
OFFICIAL_SIZES: dict[tuple[str, str], tuple[int, int | None]] = {
    ("celebahq", "train"): (24_183, None),
    ("celebahq", "val"): (2_993, None),
    ("celebahq", "test"): (2_824, None),
    ("celebahq", "all"): (30_000, 6_217),
    ("lfw", "all"): (13_233, 5_749),
}
#: the share of an official split that must be present (LFW photos without a detectable face are left out)
MIN_SHARE = 0.995
#: how the paper trains NullSwap (experiment=paper): 60 epochs of batch 256 on the CelebA-HQ train split
TRAINING: dict[str, object] = {
    "recognizers": ["arcface", "facenet"],
    "data": "celebahq",
    "split": "train",
    "batch_size": 256,
    "resolution": 256,
    "perceptual": "lpips-alex",
    "steps": 60 * (24_183 // 256),  # 5,640
}
#: the training recognizers of each Table 5 session (its column), and its identity-loss weighting
SESSION_TRAINING: dict[str, tuple[list[str], str]] = {
    "session1": (["arcface"], "single"),
    "session2": (["facenet"], "single"),
    "session3": (["arcface", "facenet"], "mean"),
    "dlw": (["arcface", "facenet"], "dlw"),
}

# --------------------------------------------------------------------------------------------------
# Table 1 — visual quality on the CelebA-HQ test split
TABLE1: dict[str, dict[str, float]] = {
    "initiative": {"psnr": 39.3803, "ssim": 0.9544, "lpips": 0.0200},
    "antiforgery": {"psnr": 38.0705, "ssim": 0.9530, "lpips": 0.0282},
    "cmua": {"psnr": 38.6395, "ssim": 0.9504, "lpips": 0.0333},
    "dfrap": {"psnr": 38.8466, "ssim": 0.9349, "lpips": 0.0511},
    "nullswap": {"psnr": 41.3097, "ssim": 0.9864, "lpips": 0.0049},
}


def _acc(rows: dict[str, dict[str, tuple[float, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """(Acc@5, Acc@1) pairs as the paper prints them -> {recognizer: {method: {"top5", "top1"}}}."""
    return {rec: {m: {"top5": a5, "top1": a1} for m, (a5, a1) in cols.items()} for rec, cols in rows.items()}


# Table 2 — identification on the CelebA-HQ test split, (Acc@5, Acc@1)
TABLE2 = _acc(
    {
        "arcface": {
            "clean": (0.980, 0.976),
            "initiative": (0.974, 0.968),
            "antiforgery": (0.977, 0.975),
            "cmua": (0.979, 0.976),
            "dfrap": (0.977, 0.974),
            "nullswap": (0.771, 0.628),
        },
        "facenet": {
            "clean": (0.940, 0.918),
            "initiative": (0.952, 0.925),
            "antiforgery": (0.921, 0.862),
            "cmua": (0.920, 0.865),
            "dfrap": (0.955, 0.920),
            "nullswap": (0.740, 0.590),
        },
        "vggface": {
            "clean": (0.910, 0.853),
            "initiative": (0.917, 0.856),
            "antiforgery": (0.919, 0.858),
            "cmua": (0.925, 0.864),
            "dfrap": (0.909, 0.847),
            "nullswap": (0.674, 0.529),
        },
        "sface-deepface": {
            "clean": (0.804, 0.791),
            "initiative": (0.794, 0.720),
            "antiforgery": (0.800, 0.732),
            "cmua": (0.799, 0.720),
            "dfrap": (0.779, 0.680),
            "nullswap": (0.658, 0.513),
        },
        "average": {
            "clean": (0.909, 0.885),
            "initiative": (0.909, 0.867),
            "antiforgery": (0.904, 0.857),
            "cmua": (0.906, 0.856),
            "dfrap": (0.905, 0.855),
            "nullswap": (0.711, 0.565),
        },
    }
)

# Table 3 — cosine similarity between swaps of the clean and the protected source (lower is better),
# {swapper: {method: {"arcface", "vggface"}}}
TABLE3: dict[str, dict[str, dict[str, float]]] = {
    swapper: {m: {"arcface": a, "vggface": v} for m, (a, v) in cols.items()}
    for swapper, cols in {
        "simswap": {
            "initiative": (0.928, 0.897),
            "antiforgery": (0.924, 0.892),
            "cmua": (0.921, 0.930),
            "dfrap": (0.468, 0.431),
            "nullswap": (0.217, 0.240),
        },
        "infoswap": {
            "initiative": (0.941, 0.919),
            "antiforgery": (0.903, 0.922),
            "cmua": (0.947, 0.888),
            "dfrap": (0.913, 0.849),
            "nullswap": (0.375, 0.359),
        },
        "uniface": {
            "initiative": (0.987, 0.960),
            "antiforgery": (0.987, 0.968),
            "cmua": (0.983, 0.965),
            "dfrap": (0.947, 0.891),
            "nullswap": (0.369, 0.329),
        },
        "e4s": {
            "initiative": (0.925, 0.893),
            "antiforgery": (0.924, 0.901),
            "cmua": (0.920, 0.900),
            "dfrap": (0.880, 0.855),
            "nullswap": (0.398, 0.368),
        },
        "diffswap": {
            "initiative": (0.660, 0.657),
            "antiforgery": (0.663, 0.655),
            "cmua": (0.658, 0.648),
            "dfrap": (0.636, 0.631),
            "nullswap": (0.310, 0.352),
        },
        "average": {
            "initiative": (0.888, 0.865),
            "antiforgery": (0.880, 0.868),
            "cmua": (0.886, 0.866),
            "dfrap": (0.769, 0.731),
            "nullswap": (0.334, 0.330),
        },
    }.items()
}

# Table 4 — LFW, (Acc@5, Acc@1); Anti-Forgery is absent (LFW has no attribute labels)
TABLE4 = _acc(
    {
        "arcface": {
            "clean": (0.923, 0.910),
            "initiative": (0.864, 0.801),
            "cmua": (0.925, 0.903),
            "dfrap": (0.891, 0.841),
            "nullswap": (0.627, 0.491),
        },
        "facenet": {
            "clean": (0.822, 0.708),
            "initiative": (0.726, 0.555),
            "cmua": (0.822, 0.702),
            "dfrap": (0.773, 0.621),
            "nullswap": (0.324, 0.210),
        },
        "vggface": {
            "clean": (0.704, 0.550),
            "initiative": (0.588, 0.429),
            "cmua": (0.701, 0.555),
            "dfrap": (0.648, 0.494),
            "nullswap": (0.294, 0.186),
        },
        "sface-deepface": {
            "clean": (0.553, 0.445),
            "initiative": (0.485, 0.369),
            "cmua": (0.565, 0.455),
            "dfrap": (0.542, 0.437),
            "nullswap": (0.348, 0.225),
        },
        "average": {
            "clean": (0.751, 0.653),
            "initiative": (0.666, 0.539),
            "cmua": (0.753, 0.654),
            "dfrap": (0.714, 0.598),
            "nullswap": (0.398, 0.278),
        },
    }
)
TABLE4_VISUAL: dict[str, dict[str, float]] = {
    "initiative": {"psnr": 34.1381, "ssim": 0.8380, "lpips": 0.3102},
    "cmua": {"psnr": 37.8710, "ssim": 0.9392, "lpips": 0.0517},
    "dfrap": {"psnr": 30.6551, "ssim": 0.8824, "lpips": 0.1422},
    "nullswap": {"psnr": 42.8132, "ssim": 0.9882, "lpips": 0.0049},
}

# Table 5 — DLW ablation on CelebA-HQ, Acc@1 only
TABLE5: dict[str, dict[str, dict[str, float]]] = {
    rec: {s: {"top1": v} for s, v in zip(("session1", "session2", "session3", "dlw"), values)}
    for rec, values in {
        "arcface": (0.653, 0.843, 0.846, 0.628),
        "facenet": (0.758, 0.546, 0.613, 0.590),
        "vggface": (0.680, 0.504, 0.600, 0.529),
        "sface-deepface": (0.576, 0.495, 0.525, 0.513),
        "average": (0.667, 0.597, 0.646, 0.565),
    }.items()
}
TABLE5_VISUAL: dict[str, dict[str, float]] = {
    "session1": {"psnr": 42.1461, "ssim": 0.9872, "lpips": 0.0042},
    "session2": {"psnr": 40.3650, "ssim": 0.9814, "lpips": 0.0075},
    "session3": {"psnr": 40.8079, "ssim": 0.9747, "lpips": 0.0063},
    "dlw": {"psnr": 41.3097, "ssim": 0.9864, "lpips": 0.0049},
}

_IDENTIFICATION = {"table2": TABLE2, "table4": TABLE4, "table5": TABLE5}
#: visual-quality reference per table; Table 2 shares its methods and dataset with Table 1
_VISUAL = {"table1": TABLE1, "table2": TABLE1, "table4": TABLE4_VISUAL, "table5": TABLE5_VISUAL}


def paper_recognizer(name: str) -> tuple[str | None, str | None]:
    """The paper's row for harness recognizer ``name`` and a note when it is an alias (else ``None``)."""
    if name in RECOGNIZERS.values() or name == "average":
        return name, None
    if name in RECOGNIZER_ALIASES:
        return RECOGNIZER_ALIASES[name]
    return None, None


def paper_identification(table: str, protector: str, recognizer: str, metric: str) -> float | None:
    """Paper value of ``metric`` (``top1``/``top5``) for a cell of Table 2, 4 or 5; None where the paper has none."""
    row, _ = paper_recognizer(recognizer)
    return _IDENTIFICATION.get(table, {}).get(row or "", {}).get(protector, {}).get(metric)


def paper_visual(table: str, protector: str, metric: str) -> float | None:
    """Paper value of ``psnr``/``ssim``/``perceptual`` for a protector.  ``perceptual`` maps to the paper's
    LPIPS whatever metric was measured; tables label the two so they are never mistaken for each other."""
    key = "lpips" if metric == "perceptual" else metric
    return _VISUAL.get(table, {}).get(protector, {}).get(key)


def paper_swap(protector: str, swapper: str, recognizer: str) -> float | None:
    """Paper Table 3 value for (protector, swapper, evaluation recognizer ``arcface``/``vggface``)."""
    row, _ = paper_recognizer(recognizer)
    return TABLE3.get(swapper, {}).get(protector, {}).get(row or recognizer)


def frame(table: str) -> pd.DataFrame:
    """One table of the paper as a tidy frame: columns ``table, protector, evaluator, metric, value``."""
    rows: list[dict[str, object]] = []
    if table in _IDENTIFICATION:
        for rec, cols in _IDENTIFICATION[table].items():
            for prot, metrics in cols.items():
                rows += [
                    dict(table=table, protector=prot, evaluator=rec, metric=m, value=v)
                    for m, v in metrics.items()
                ]
    if table in ("table1", "table4", "table5"):
        for prot, metrics in _VISUAL[table].items():
            rows += [
                dict(table=table, protector=prot, evaluator="visual", metric=m, value=v)
                for m, v in metrics.items()
            ]
    if table == "table3":
        for swapper, cols in TABLE3.items():
            for prot, metrics in cols.items():
                rows += [
                    dict(table=table, protector=prot, evaluator=swapper, metric=f"similarity_{m}", value=v)
                    for m, v in metrics.items()
                ]
    if not rows:
        raise KeyError(f"the paper has no {table}; tables are table1..table5")
    return pd.DataFrame(rows)
