"""The ``protect_report.json`` of a protect run, written as the run goes.

Every input photo has exactly one entry (keyed by its absolute path), from the moment the run starts:
``pending`` until it is reached, ``working`` while it is (the output it is about to write is already
named, so an interrupted run never leaves an unlisted output behind), then its outcome.  The file is
rewritten atomically after every photo, so when a run stops part-way — an error, Ctrl-C, a killed job —
the report on disk says exactly which photos are done.  Entries of earlier runs for photos not in this
run are kept, so one output folder keeps one history.

Statuses: ``protected``, ``skipped_existing`` (done by an earlier run from the same content),
``no_face``, ``unreadable``, ``too_small``, ``too_large``, ``output_exists`` (a file not written by
this program is in the way; not overwritten), ``pending``, ``working``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from nullswap.atomic import write_text
from nullswap.protect_plan import REPORT_FORMAT, Planned, read_report

FINISHED_OK = ("protected", "skipped_existing")


class ProtectReport:
    def __init__(self, path: Path, settings: dict[str, object]) -> None:
        self.path = path
        self.settings = settings
        previous = read_report(path) or {}
        self.entries: dict[str, dict] = {
            item["source"]: item for item in previous.get("photos", []) if isinstance(item, dict) and "source" in item
        }
        self.excluded: list[dict[str, str]] = []
        self.complete = False

    def previous(self, source: Path) -> dict | None:
        return self.entries.get(str(source))

    def start(self, planned: list[Planned], excluded: list[dict[str, str]]) -> None:
        """List every photo of this run (``pending``) and write the report before the first photo."""
        for item in planned:
            entry = self.entries.get(str(item.source))
            if entry is None or entry.get("status") not in FINISHED_OK:
                self.entries[str(item.source)] = {"source": str(item.source), "status": "pending",
                                                  "output": str(item.target)}
        self.excluded = excluded
        self.save()

    def update(self, photo: Path, /, **fields: object) -> None:
        entry = self.entries.setdefault(str(photo), {"source": str(photo)})
        entry.update(fields)
        entry["source"] = str(photo)
        self.save()

    def finish(self) -> None:
        self.complete = True
        self.save()

    def save(self) -> None:
        payload = {
            "format": REPORT_FORMAT,
            "complete": self.complete,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": self.settings,
            "photos": sorted(self.entries.values(), key=lambda item: item["source"]),
            "excluded": self.excluded,
        }
        write_text(self.path, json.dumps(payload, indent=2))
