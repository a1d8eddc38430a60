"""The file protocol between the runner and a driver (version 1), seen from the harness side.

::

    python DRIVER --request RUN_DIR/request.json          (cwd = the upstream checkout)

    request.json  {"protocol": 1, "upstream": {"name", "checkout", "commit"}, "input_dir", "output_dir",
                   "status_path", "items": [{"id", "file"}], "options": {...}, "seed": int,
                   "device": "auto"|"cpu"|"cuda", "mode": str|null}
    status.json   {"protocol": 1, "ok": bool, "error": null | {"kind", "message"},
                   "items": [{"id", "status": "ok"|"failed"|"no_face", "file", "message"}], "info": {...}}

Exit status 0 means the driver ran (items may still have failed one by one); 3 means it stopped at the
weights boundary (a file is missing; ``error.message`` says which); anything else is a crash.

The driver side of the protocol is ``drivers/driver_protocol.py`` beside this module: a standalone
file (standard library, numpy and Pillow, Python 3.6 syntax) that the runner puts on the driver's
``PYTHONPATH``, because upstream environments cannot import this package.
"""

from __future__ import annotations

from pathlib import Path

PROTOCOL_VERSION = 1
#: exit status of a driver that stopped because a weight file is missing
EXIT_MISSING_WEIGHTS = 3
#: the folder holding ``driver_protocol.py`` (and nothing else a driver could import by accident)
PROTOCOL_DIR = Path(__file__).resolve().parent / "drivers"
