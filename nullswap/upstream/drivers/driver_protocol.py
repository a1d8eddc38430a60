"""File protocol shared by every driver that runs inside an upstream environment (protocol version 1).

The harness (``nullswap/upstream/runner.py``) writes PNG inputs and a ``request.json``, runs a driver
with the upstream environment's python and reads back PNG outputs and ``status.json``.  The runner puts
this file's folder on the driver's ``PYTHONPATH``.  Upstream
environments pin old interpreters (Python 3.6 for some), so this module uses only the standard
library, numpy and Pillow, and avoids syntax newer than Python 3.6.

A driver looks like::

    from driver_protocol import Driver
    with Driver() as drv:                      # parses --request, seeds, writes status.json on exit
        drv.require_weights(["checkpoints/x.ckpt"])   # stops here (exit 3) when one is missing
        model = ...                           # import the upstream's modules from drv.checkout
        for item, image in drv.images():      # H×W×3 uint8
            with drv.guard(item):             # an exception fails this image only, with its message
                drv.write(item, protected_uint8)  # or drv.fail(item, "why")

    # or in batches (a batch that fails is retried item by item):
    drv.in_batches(list(drv.images()), size, lambda chunk: ...)  # chunk: [(item, image), ...]

A face-swap driver receives one item per (source, target) pair and writes the swap result::

    for item, source, target in drv.pairs():  # both H×W×3 uint8
        with drv.guard(item):                 # an exception fails this pair only, with its message
            drv.write(item, swapped)          # or drv.no_face(item, "why"), drv.fail(item, "why")

One bad item never costs its neighbours: the work on each item (or batch of items) runs inside
``drv.guard(...)``, which records an exception as that item's ``failed`` status (type, message, and the
traceback in the log) and lets the loop go on.  Only an error outside every guard (loading the models)
fails the whole request.
"""

import argparse
import contextlib
import json
import os
import random
import sys
import traceback

import numpy as np
from PIL import Image

PROTOCOL_VERSION = 1
EXIT_MISSING_WEIGHTS = 3


class MissingWeights(Exception):
    """Raised by :meth:`Driver.require_weights`; turned into exit status 3 and a status message."""


class Driver:
    def __init__(self, argv=None):
        parser = argparse.ArgumentParser(description="NullSwap upstream driver (protocol 1)")
        parser.add_argument("--request", required=True, help="request.json written by the harness")
        args = parser.parse_args(argv)
        with open(args.request) as handle:
            self.request = json.load(handle)
        if self.request.get("protocol") != PROTOCOL_VERSION:
            raise SystemExit(
                f"driver speaks protocol {PROTOCOL_VERSION}, request has {self.request.get('protocol')!r}"
            )
        self.checkout = self.request["upstream"]["checkout"]
        #: every option of the adapter, defaults included (the adapter's ``default_options`` is the one
        #: place they are declared; a driver reads ``options["key"]`` and repeats no default)
        self.options = self.request.get("options") or {}
        self.seed = int(self.request.get("seed", 0))
        self.mode = self.request.get("mode")
        self.input_dir = self.request["input_dir"]
        self.output_dir = self.request["output_dir"]
        self.status_path = self.request["status_path"]
        self.info = {
            "python": sys.version.split()[0],
            "executable": sys.executable,
            # what the runner let this process see for the requested device ("" = no GPU)
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }
        self._records = {}
        self._error = None

    # ---- context: seed on entry, always write a status on exit ------------------------------------
    def __enter__(self):
        random.seed(self.seed)
        np.random.seed(self.seed)
        if self.checkout not in sys.path:
            sys.path.insert(0, self.checkout)
        os.chdir(self.checkout)
        return self

    def __exit__(self, exc_type, exc, tb):
        code = 0
        if exc_type is MissingWeights:
            self._error = {"kind": "missing_weights", "message": str(exc)}
            code = EXIT_MISSING_WEIGHTS
        elif exc_type is not None and not issubclass(exc_type, SystemExit):
            traceback.print_exception(exc_type, exc, tb)
            self._error = {"kind": exc_type.__name__, "message": str(exc)}
            code = 1
        self.write_status()
        if code:
            raise SystemExit(code)
        return False

    # ---- inputs and outputs ------------------------------------------------------------------------
    def items(self):
        return list(self.request["items"])

    def images(self):
        """Yield ``(item, H×W×3 uint8 array)`` for every requested image, in order."""
        for item in self.items():
            path = os.path.join(self.input_dir, item["file"])
            yield item, np.asarray(Image.open(path).convert("RGB"))

    def pairs(self):
        """Yield ``(item, source, target)`` for every requested face-swap pair, in order."""
        for item in self.items():
            if not item.get("target_file"):
                raise ValueError("item {} has no target image: this request is not a swap".format(item["id"]))
            source = np.asarray(Image.open(os.path.join(self.input_dir, item["file"])).convert("RGB"))
            target = np.asarray(Image.open(os.path.join(self.input_dir, item["target_file"])).convert("RGB"))
            yield item, source, target

    def write(self, item, image):
        """Write one protected image (H×W×3 uint8, or float in [0, 1]) and mark it ok.

        A float image with NaN or infinite values is refused (``ValueError``; inside ``guard`` the item
        fails with that message): rounded to uint8 it would pass for a picture."""
        array = np.asarray(image)
        if array.dtype != np.uint8 and not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).sum())
            raise ValueError(f"non-finite output: {bad} of {array.size} values are NaN or infinite")
        if array.dtype != np.uint8:
            array = np.clip(np.round(array.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
        Image.fromarray(array).save(os.path.join(self.output_dir, item["file"]))
        self._records[item["id"]] = {"id": item["id"], "status": "ok", "file": item["file"], "message": ""}

    def fail(self, item, message):
        self._records[item["id"]] = {
            "id": item["id"],
            "status": "failed",
            "file": None,
            "message": str(message),
        }

    def no_face(self, item, message):
        """The upstream found no face (in the source or the target) for this item."""
        self._records[item["id"]] = {
            "id": item["id"],
            "status": "no_face",
            "file": None,
            "message": str(message),
        }

    @contextlib.contextmanager
    def guard(self, *items):
        """Run the body for ``items``; an exception marks each of them ``failed`` and is not re-raised.

        ``KeyboardInterrupt`` and ``SystemExit`` still stop the driver.  Items the body already reported
        (written, ``no_face``) before it raised keep their record."""
        try:
            yield
        except Exception as exc:
            traceback.print_exc()
            message = f"{type(exc).__name__}: {exc}"
            for item in items:
                if item["id"] not in self._records:
                    self.fail(item, message)

    def in_batches(self, entries, size, work):
        """Call ``work(chunk)`` on batches of ``size`` entries (tuples whose first element is the item);
        ``work`` writes or fails each item of its chunk.

        When a batch raises, or leaves any of its items not ok, each such item is retried alone: one bad
        image never costs its neighbours, even where the upstream computes one loss over the whole batch
        (a NaN in one image's gradient then spreads to all of them).  An item that fails alone keeps its
        own message."""
        for chunk in batches(entries, size):
            with self.guard(*[entry[0] for entry in chunk]):
                work(chunk)
            if len(chunk) == 1:
                continue
            for entry in chunk:
                record = self._records.get(entry[0]["id"]) or {}
                if record.get("status") == "ok":
                    continue
                print("retrying {} alone after its batch failed: {}".format(entry[0]["id"], record.get("message")))
                self._records.pop(entry[0]["id"], None)
                with self.guard(entry[0]):
                    work([entry])

    def require_weights(self, relative_paths, hint=""):
        """Stop at the weights boundary when any file is missing (before importing upstream code)."""
        missing = [p for p in relative_paths if not os.path.isfile(os.path.join(self.checkout, p))]
        if missing:
            lines = [
                f"missing weight file {p} (expected at {os.path.join(self.checkout, p)})" for p in missing
            ]
            if hint:
                lines.append(hint)
            raise MissingWeights("\n".join(lines))

    def write_status(self):
        records = []
        for item in self.items():
            records.append(
                self._records.get(
                    item["id"],
                    {
                        "id": item["id"],
                        "status": "failed",
                        "file": None,
                        "message": "not processed" + (" (driver error)" if self._error else ""),
                    },
                )
            )
        status = {
            "protocol": PROTOCOL_VERSION,
            "ok": self._error is None,
            "error": self._error,
            "items": records,
            "info": self.info,
        }
        tmp = self.status_path + ".part"
        with open(tmp, "w") as handle:
            json.dump(status, handle, indent=2)
        os.replace(tmp, self.status_path)


def torch_device(torch, requested):
    """``auto`` → cuda when available; ``cuda`` without a GPU is an error rather than a silent CPU run."""
    if requested in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device '{requested}' requested but torch sees no CUDA device "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r} in this process)"
        )
    return requested


def load_state_dict(torch, path):
    """Load a plain state dict safely (``weights_only=True`` where this torch supports it)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def seed_torch(torch, seed):
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def batches(sequence, size):
    size = max(1, int(size))
    for start in range(0, len(sequence), size):
        yield sequence[start : start + size]
