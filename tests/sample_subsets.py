"""Small, shaped subsets of the offline sample set for identification tests."""

from __future__ import annotations

import pytest


def balanced_sample_views(identities: int, per_identity: int):
    """The first ``identities`` test identities with at least ``per_identity`` images among the sample's
    views, ``per_identity`` images each: a small identification set with a known shape."""
    from nullswap.data.sample import load_sample

    try:
        sample = load_sample("test", views=True)
    except Exception as exc:  # the sample set needs a one-time registry download to build
        pytest.skip(f"offline sample set unavailable: {exc}")
    chosen: list[int] = []
    for identity in dict.fromkeys(sample.identities):
        members = [i for i, name in enumerate(sample.identities) if name == identity][:per_identity]
        if len(members) == per_identity:
            chosen += members
        if len(chosen) >= identities * per_identity:
            break
    return sample.subset(chosen)
