"""Every adapter module imports cleanly, so a broken back end is caught here and not in a sweep."""

from __future__ import annotations

import pytest

import baselines
import nullswap.recognizers as recognizers


def test_every_recognizer_back_end_imports_without_its_optional_libraries_failing():
    names = recognizers.available()
    assert recognizers.IMPORT_ERRORS == {}
    assert {"dlib", "dlib-cpp", "sface", "sface-onnx", "mobilefacenet"} <= set(names)


def test_every_protector_adapter_imports():
    names = baselines.available()
    assert baselines.IMPORT_ERRORS == {}
    assert "nullswap" in names


def test_unknown_names_list_what_exists():
    with pytest.raises(KeyError, match=r"available: .*dlib"):
        recognizers.load("no-such-recognizer")
    with pytest.raises(KeyError, match=r"available: .*nullswap"):
        baselines.load("no-such-protector")
