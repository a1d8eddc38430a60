"""The recognizer registry: names → factories, and :func:`load`, which gives a ready, frozen model.

Back-end modules import :func:`register_recognizer` from here (never the package), so registering a
back end cannot pull in the package and, through it, the other back ends.  The registry imports the
back-end modules of ``nullswap.recognizers`` only when a name is asked for; it never imports the
converters (``convert/``: tools a back end uses when it converts) or the re-detection wrapper as back
ends.
"""

from __future__ import annotations

from nullswap.recognizers.base import Recognizer
from nullswap.registry import Registry

REGISTRY: Registry[Recognizer] = Registry(
    "recognizer", "nullswap.recognizers", skip=("base", "registry", "redetect", "convert")
)
register_recognizer = REGISTRY.register
#: back-end modules that failed to import, with the error (reported by :func:`load`)
IMPORT_ERRORS = REGISTRY.import_errors


def available() -> list[str]:
    """Names of every registered recognizer (whether or not its weights are present)."""
    return REGISTRY.available()


def is_known(name: str) -> bool:
    """Whether ``name`` is a registered recognizer, or one evaluated through re-detection."""
    from nullswap.recognizers.redetect import SUFFIX

    return name.removesuffix(SUFFIX) in REGISTRY.available()


def load(name: str, device: str | None = None, **kwargs: object) -> Recognizer:
    """Build recognizer ``name`` with its weights, in eval mode, parameters frozen.

    ``"<name>@redetect"`` evaluates ``<name>`` through re-detection and re-alignment of every crop
    (:mod:`nullswap.recognizers.redetect`)."""
    from nullswap.recognizers.redetect import SUFFIX, Redetected

    if name.endswith(SUFFIX):
        model: Recognizer = Redetected(load(name[: -len(SUFFIX)], **kwargs))
    else:
        model = REGISTRY.get(name)(**kwargs)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if device is not None:
        model.to(device)
    return model
