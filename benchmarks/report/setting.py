"""The line above every table (and on every figure) that says what was measured, and whether it is the
paper's setting — derived from the facts the cells recorded, never from the configuration's name.

The facts, each checked against the paper (:mod:`benchmarks.report.paper`):

* the data set, its split, and its image and identity counts against the official split's size;
* each recognizer's weight files: sha256 pinned and matching, no published hash (its sha256 recorded),
  or a stand-in; likewise the perceptual metric's backbone;
* each NullSwap column's checkpoint, as its training recorded it: the recognizers it was trained against,
  the steps it took against the paper's 60 epochs, the data set, split and number of images, the
  perceptual loss, and whether any weight file it trained with was a stand-in;
* the command-line overrides that change what is measured (``dataset.max_images=36``, ``train.steps=3``).

"the paper's setting" is written only when every one of them holds; otherwise the header says what differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchmarks.report import paper
from nullswap import standin
from nullswap.metrics.visual import perceptual_column

DATASET_LABELS = {"celebahq": "CelebA-HQ", "lfw": "LFW", "sample": "offline sample", "offline": "offline set",
                  "folder": "image folder"}
PAPER_DATA = {"celebahq": "CelebA-HQ test split", "lfw": "LFW, all 5,749 identities"}
PAPER_RECOGNIZERS = set(paper.RECOGNIZERS.values())
#: weight-file states (nullswap.weights) under which a recognizer counts as the published one
GENUINE_STATES = ("sha256 ok", "no published hash")
#: command-line keys that place or schedule a run without changing what it measures (prefixes)
NEUTRAL_OVERRIDES = (
    "device", "output_root", "experiment", "batch_size", "build_tables", "store_per_image", "only", "cluster",
    "cluster_group", "hydra", "slurm", "+slurm", "rehearsal", "sanity_gate", "dataset.root", "protectors",
    "recognizers", "threads", "train.checkpoints", "setting", "dataset", "seed", "perceptual",
    "train.steps",  # Table 5's sessions: their checkpoints' steps are a fact of their own
)


def _fmt(n: Any) -> str:
    return f"{int(n):,}" if isinstance(n, (int, float)) else str(n)


def _dataset_facts(cells: list[dict[str, Any]]) -> dict[str, Any]:
    for cell in cells:
        dataset = (cell.get("provenance") or {}).get("dataset")
        if dataset:
            return dataset
    return {}


def rehearsal_reasons(cells: list[dict[str, Any]]) -> list[str]:
    """The stand-ins behind any rehearsal cell of ``cells`` (empty when none is a rehearsal)."""
    found: set[str] = set()
    for cell in cells:
        if cell.get("rehearsal"):
            found.update((cell["rehearsal"] or {}).get("reasons") or ["rehearsal"])
            found.update(standin.reasons(cell.get("provenance") or {}))
    return sorted(found)


def rehearsal_line(found: Sequence[str]) -> str:
    """The header's opening for rehearsal cells: :data:`~nullswap.standin.REHEARSAL_HEADER` and what stood in."""
    detail = standin.summary([f for f in found if ": " in f]) or "computed in a rehearsal folder"
    return f"{standin.REHEARSAL_HEADER} ({detail})"


# --------------------------------------------------------------------------------------------------
# The facts, one function each: (what was measured, what differs from the paper)
# --------------------------------------------------------------------------------------------------
def data_facts(table: str, dataset: str, cells: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The data set, split and counts, against the official split the paper's table used."""
    facts = _dataset_facts(cells)
    config = facts.get("config") or {}
    n_images, n_ids = facts.get("n_images"), facts.get("n_identities")
    label = DATASET_LABELS.get(dataset, dataset)
    split = config.get("split")
    paper_dataset, paper_split = paper.DATASETS.get(table), paper.SPLITS.get(table)
    official = paper.OFFICIAL_SIZES.get((dataset, str(split)))
    counts = ""
    if n_images:
        counts = f", {_fmt(n_images)}" + (f" of {_fmt(official[0])}" if official else "") + " images"
        counts += f", {_fmt(n_ids)} identities" if n_ids else ""
    text = f"data set: {label}" + (f" ({split} split)" if split else "") + counts
    differs = []
    if dataset != paper_dataset:
        differs.append(f"{label}, {_fmt(n_images)} faces" if dataset in ("sample", "offline") else f"data set {label}")
    elif split is not None:
        if split != paper_split:
            differs.append(f"the {split} split, not the {paper_split} split the paper reports")
        if official and n_images is not None and n_images < paper.MIN_SHARE * official[0]:
            differs.append(f"{_fmt(n_images)} of the {split} split's {_fmt(official[0])} images")
        for key in ("max_images", "max_identities", "min_images_per_identity"):
            if config.get(key) is not None and not (key == "min_images_per_identity" and config[key] in (1,)):
                differs.append(f"dataset.{key}={config[key]}")
    return text, differs


def _file_states(described: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: dict(entry or {}) for name, entry in (described.get("weight_files") or {}).items()}


def _state_label(states: Mapping[str, Mapping[str, Any]]) -> str:
    """A short weight status for a component: 'sha256 ok', 'no published hash, sha256 1a2b3c4d', 'stand-in'."""
    labels = []
    for entry in states.values():
        state = entry.get("status")
        if state == "STAND-IN":
            labels.append("stand-in")
        elif state == "no published hash":
            labels.append(f"no published hash, sha256 {str(entry.get('sha256') or '?')[:8]}")
        elif state:
            labels.append(str(state))
    return "; ".join(dict.fromkeys(labels)) or "weights not recorded"


def _genuine(states: Mapping[str, Mapping[str, Any]]) -> bool:
    return bool(states) and all(entry.get("status") in GENUINE_STATES for entry in states.values())


def recognizer_facts(cells: list[dict[str, Any]], recognizers: Sequence[str]) -> tuple[str, list[str]]:
    """Each recognizer row with its weight status; the paper's four, each with published (or unpinned) weights."""
    if not recognizers:
        return "", []
    described: dict[str, dict[str, Any]] = {}
    for cell in cells:
        rec = (cell.get("provenance") or {}).get("recognizer") or {}
        name = cell.get("key", {}).get("evaluator")
        if name in recognizers and rec:
            described[name] = rec
    parts, stand_ins, unrecorded = [], [], []
    for name in recognizers:
        states = _file_states(described.get(name, {}))
        parts.append(f"{name} ({_state_label(states)})")
        if any(entry.get("status") == "STAND-IN" for entry in states.values()):
            stand_ins.append(name)
        elif not _genuine(states) and name in PAPER_RECOGNIZERS:
            unrecorded.append(name)
    differs = []
    if not PAPER_RECOGNIZERS.issubset(recognizers):
        differs.append("not the paper's four deepface recognizers")
    if stand_ins:
        differs.append(f"stand-in weights for {', '.join(stand_ins)}")
    if unrecorded:
        differs.append(f"weight status not recorded for {', '.join(unrecorded)}")
    return "recognizers: " + ", ".join(parts), differs


def perceptual_facts(cells: list[dict[str, Any]], perceptual: str | None) -> tuple[str, list[str]]:
    """The perceptual metric and its backbone's weight status."""
    if not perceptual:
        return "", []
    states: dict[str, dict[str, Any]] = {}
    for cell in cells:
        states.update(_file_states((cell.get("provenance") or {}).get("perceptual") or {}))
    text = f"perceptual metric: {perceptual_column(perceptual)} ({perceptual}"
    text += f", {_state_label(states)})" if states else ")"
    differs = []
    if perceptual != "lpips-alex":
        differs.append(f"{perceptual_column(perceptual)} instead of LPIPS (not comparable)")
    elif any(entry.get("status") == "STAND-IN" for entry in states.values()):
        differs.append("stand-in LPIPS backbone")
    return text, differs


def _protector_training(cells: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Column -> the training facts of the NullSwap checkpoint it measured (columns without one are absent)."""
    found: dict[str, dict[str, Any]] = {}
    for cell in cells:
        described = (cell.get("provenance") or {}).get("protector") or {}
        if isinstance(described, Mapping) and described.get("training"):
            found[cell["key"]["protector"]] = dict(described["training"])
    return found


def _nullswap_columns(cells: Iterable[dict[str, Any]]) -> list[str]:
    columns = []
    for cell in cells:
        described = (cell.get("provenance") or {}).get("protector") or {}
        configured = (cell.get("config") or {}).get("protector")
        registry = configured.get("registry") if isinstance(configured, Mapping) else configured
        if registry == "nullswap" or (isinstance(described, Mapping) and described.get("name") == "nullswap"):
            columns.append(cell["key"]["protector"])
    return list(dict.fromkeys(columns))


def training_differences(column: str, facts: Mapping[str, Any]) -> list[str]:
    """How the checkpoint of NullSwap column ``column`` was trained, where it differs from the paper."""
    expected, strategy = paper.SESSION_TRAINING.get(column, (paper.TRAINING["recognizers"], None))
    differs = []
    recognizers = list(facts.get("recognizers") or [])
    if recognizers != list(expected):
        differs.append(f"against {', '.join(recognizers) or '?'} (paper: {', '.join(expected)})")
    if strategy and facts.get("dlw") and facts["dlw"] != strategy:
        differs.append(f"with {facts['dlw']} weighting (paper: {strategy})")
    data = facts.get("data") or {}
    if data.get("name") not in (paper.TRAINING["data"], f"{paper.TRAINING['data']}-{paper.TRAINING['split']}"):
        differs.append(f"on {data.get('name') or '?'} (paper: CelebA-HQ train split)")
    elif data.get("split", "train") != paper.TRAINING["split"]:
        differs.append(f"on the {data.get('split')} split (paper: train)")
    official = paper.OFFICIAL_SIZES[(str(paper.TRAINING["data"]), str(paper.TRAINING["split"]))][0]
    n_images = data.get("n_images")
    if n_images is not None and n_images < paper.MIN_SHARE * official:
        differs.append(f"on {_fmt(n_images)} of the {_fmt(official)} train images")
    steps = facts.get("steps")
    if steps is not None and int(steps) < int(paper.TRAINING["steps"]):
        differs.append(f"{_fmt(steps)} of the paper's {_fmt(paper.TRAINING['steps'])} steps (60 epochs)")
    for key in ("batch_size", "resolution", "perceptual"):
        if facts.get(key) is not None and facts[key] != paper.TRAINING[key]:
            differs.append(f"{key} {facts[key]} (paper: {paper.TRAINING[key]})")
    trained_with = standin.reasons(facts.get("weight_files") or {})
    if trained_with:
        differs.append(f"trained with {standin.summary(trained_with)}")
    return differs


def checkpoint_facts(cells: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The NullSwap columns' checkpoints: what each was trained on, and where that is not the paper's."""
    columns = _nullswap_columns(cells)
    if not columns:
        return "", []
    trained = _protector_training(cells)
    parts, grouped = [], {}
    for column in columns:
        facts = trained.get(column)
        if facts is None:
            parts.append(f"{column} (training not recorded)")
            grouped.setdefault("a checkpoint whose training is not recorded", []).append(column)
            continue
        data = facts.get("data") or {}
        size = f"{_fmt(data['n_images'])} " if data.get("n_images") is not None else ""
        parts.append(f"{column} trained {_fmt(facts.get('steps'))} steps against "
                     f"{', '.join(facts.get('recognizers') or ['?'])} on {size}{data.get('name') or '?'} images")
        column_differs = training_differences(column, facts)
        if column_differs:
            grouped.setdefault("trained " + ", ".join(column_differs), []).append(column)
    # columns whose checkpoints differ from the paper in the same way (Table 5's sessions) are named together
    differs = [f"{', '.join(names)} {text}" for text, names in grouped.items()]
    return "NullSwap checkpoint: " + ", ".join(parts), differs


def _run_config(cells: list[dict[str, Any]]) -> dict[str, Any]:
    if not cells:
        return {}
    newest = max(cells, key=lambda c: (c.get("provenance") or {}).get("finished") or "")
    return (newest.get("provenance") or {}).get("run_config") or {}


def override_facts(cells: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """Command-line overrides (recorded in the run configuration) that change what is measured."""
    run_config = _run_config(cells)
    changing = []
    for item in run_config.get("command_line") or []:
        key = str(item).split("=", 1)[0].lstrip("+~")
        if any(key == n or key.startswith(f"{n}.") for n in NEUTRAL_OVERRIDES):
            continue
        if key.startswith("protector_options.") and key.endswith((".checkpoint", ".progress", ".device")):
            continue
        changing.append(str(item))
    protocol = run_config.get("protocol") or {}
    if protocol and (list(protocol.get("ks", [1, 5])) != [1, 5]
                     or not protocol.get("singletons_as_distractors", True)):
        changing.append(f"protocol {protocol}")
    changing = list(dict.fromkeys(changing))
    if not changing:
        return "", []
    return "overrides: " + " ".join(changing), [f"overrides {' '.join(changing)}"]


# --------------------------------------------------------------------------------------------------
# The header
# --------------------------------------------------------------------------------------------------
def setting_header(
    table: str,
    dataset: str,
    cells: list[dict[str, Any]],
    recognizers: Sequence[str],
    perceptual: str | None,
    extra_reasons: Sequence[str] = (),
) -> tuple[str, list[str]]:
    """The line that says what was measured, and whether it is the paper's setting (with what differs)."""
    data_text, reasons = data_facts(table, dataset, cells)
    parts = [data_text]
    reasons += list(extra_reasons)  # the table's own (e.g. Table 3's missing swappers) come next
    for text, differs in (recognizer_facts(cells, recognizers), perceptual_facts(cells, perceptual),
                          checkpoint_facts(cells), override_facts(cells)):
        if text:
            parts.append(text)
        reasons += differs
    if not _dataset_facts(cells):
        reasons.append("the data set's split and size are not recorded")
    found = rehearsal_reasons(cells)
    if found and not any("stand-in" in r for r in reasons):
        reasons.append("stand-in (random) weights")
    paper_dataset = paper.DATASETS.get(table)
    if reasons:
        parts.append("not the paper's setting: " + "; ".join(reasons)
                     + f" (paper: {PAPER_DATA.get(paper_dataset, paper_dataset)})")
    else:
        parts.append("the paper's setting")
    if found:
        parts.insert(0, rehearsal_line(found))
    notes = []
    if dataset == "sample":
        n_images = _dataset_facts(cells).get("n_images")
        notes.append(
            f"offline sample, {n_images} faces; not the paper's setting: numbers show that the harness "
            "runs end to end on real faces, not how the defences compare on CelebA-HQ"
        )
    return "; ".join(parts), notes
