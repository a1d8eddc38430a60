"""Drive an upstream system (a published defence or face swapper) in its own environment, files in, files out.

One job per module:

* :mod:`~nullswap.upstream.spec` — what an upstream is (:class:`UpstreamSpec`, :class:`WeightSpec`);
* :mod:`~nullswap.upstream.layout` — where its checkout, environment and run logs live;
* :mod:`~nullswap.upstream.runner` — :class:`ExternalRunner`: readiness checks, one driver run;
* :mod:`~nullswap.upstream.adapter` — what every adapter (protector or swapper) shares: run settings,
  driver options and their defaults, per-chunk run folders, provenance;
* :mod:`~nullswap.upstream.protocol` — the request/status file protocol (harness side);
* ``drivers/driver_protocol.py`` — the same protocol on the driver side (runs in the upstream's python);
* :mod:`~nullswap.upstream.messages` — what the user reads when something is missing;
* :mod:`~nullswap.upstream.rehearsal` — rehearse an adapter against its real upstream code: a copy of the
  upstream's tree with random-weight stand-ins built by a per-upstream builder script;
* :mod:`~nullswap.upstream.errors` — the runner's exceptions.

This floor knows nothing of ``baselines/`` or ``swappers/``: each adapter hands its spec (with the
absolute paths of its own driver and environment file) to :class:`ExternalRunner`.
"""

from __future__ import annotations

from nullswap.upstream.errors import (
    ExternalRunError,
    ExternalTimeout,
    MissingUpstreamWeights,
    UpstreamNotReady,
)
from nullswap.upstream.layout import UpstreamLayout, upstream_root
from nullswap.upstream.messages import weight_message
from nullswap.upstream.protocol import EXIT_MISSING_WEIGHTS, PROTOCOL_DIR, PROTOCOL_VERSION
from nullswap.upstream.runner import ExternalResult, ExternalRunner, ItemResult
from nullswap.upstream.spec import EnvKind, UpstreamSpec, WeightSpec

__all__ = [
    "EXIT_MISSING_WEIGHTS",
    "PROTOCOL_DIR",
    "PROTOCOL_VERSION",
    "EnvKind",
    "ExternalResult",
    "ExternalRunError",
    "ExternalRunner",
    "ExternalTimeout",
    "ItemResult",
    "MissingUpstreamWeights",
    "UpstreamLayout",
    "UpstreamNotReady",
    "UpstreamSpec",
    "WeightSpec",
    "upstream_root",
    "weight_message",
]
