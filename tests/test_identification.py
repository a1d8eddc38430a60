"""The identification protocol on hand-made embeddings whose ranks can be worked out on paper."""

from __future__ import annotations

import numpy as np
import pytest

from nullswap.metrics.identification import identify

# Identity A has three images, B two, C one (a singleton).
IDENTITIES = ["A", "A", "A", "B", "B", "C"]
CLEAN = np.array(
    [
        [1.0, 0.0, 0.0],  # a1
        [1.0, 0.0, 0.0],  # a2
        [0.8, 0.6, 0.0],  # a3
        [0.0, 1.0, 0.0],  # b1
        [0.0, 1.0, 0.0],  # b2
        [0.0, 0.0, 1.0],  # c1
    ]
)
PROTECTED = np.array(
    [
        [1.0, 0.0, 0.0],  # a1': own template (a2+a3) at cos 0.949, B and C at 0          -> rank 1
        [0.0, 0.0, 1.0],  # a2': own template (a1+a3) at 0; C at 1 ahead, B at 0 ties      -> rank 3
        [0.0, 1.0, 0.0],  # a3': own template (a1+a2) at 0; B at 1 ahead, C at 0 ties      -> rank 3
        [0.6, 0.8, 0.0],  # b1': own template (b2) at 0.8; A (all three) at 0.754; C at 0  -> rank 1
        [1.0, 0.0, 0.0],  # b2': own template (b1) at 0; A at 0.978 ahead, C at 0 ties     -> rank 3
        [0.0, 0.0, 1.0],  # c1': no other image of C: not a probe
    ]
)


def test_ranks_follow_leave_one_out_templates_and_ties_count_against_the_probe() -> None:
    result = identify(CLEAN, PROTECTED, IDENTITIES, ks=(1, 2, 3, 5))
    assert result.ranks == [1, 3, 3, 1, 3, None]
    assert result.status == ["probe"] * 5 + ["skipped"]
    assert result.n_probes == 5 and result.n_skipped == 1
    assert result.accuracy == {
        1: pytest.approx(0.4),
        2: pytest.approx(0.4),
        3: pytest.approx(1.0),
        5: pytest.approx(1.0),
    }
    assert result.top1 == pytest.approx(0.4) and result.top5 == pytest.approx(1.0)
    assert result.n_identities == 3 and result.n_gallery_templates == 3


def test_single_image_identities_can_be_left_out_of_the_gallery() -> None:
    result = identify(CLEAN, PROTECTED, IDENTITIES, ks=(1, 2), singletons_as_distractors=False)
    # Without C, a2' and a3' and b2' each lose one competitor.
    assert result.ranks == [1, 2, 2, 1, 2, None]
    assert result.accuracy == {1: pytest.approx(0.4), 2: pytest.approx(1.0)}
    assert result.n_gallery_templates == 2


def test_the_probe_s_own_clean_photo_is_never_in_its_template() -> None:
    # Clean probes.  X has three images; x2's template is x1+x3 = (0.707, 0.707): cos 0.707 < Y's 0.8,
    # so rank 2.  Had x2's own clean photo been in X's template (1, 2)/|.|, the cosine would be 0.894
    # and the rank 1: the leave-one-out rule is what keeps clean accuracy below 1.
    clean = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.6, 0.8], [0.6, 0.8]])
    identities = ["X", "X", "X", "Y", "Y"]
    result = identify(clean, clean, identities, ks=(1,))
    # x1: template (0, 1) at 0 vs Y at 0.6 -> 2; x3 like x2 -> 2; y1, y2: template = the other Y photo at 1 -> 1
    assert result.ranks == [2, 2, 2, 1, 1]
    assert result.top1 == pytest.approx(0.4)


def test_failed_probe_embeddings_count_as_not_identified() -> None:
    protected = PROTECTED.copy()
    protected[0] = np.nan  # a1' was not embedded (no face found on re-detection)
    result = identify(CLEAN, protected, IDENTITIES, ks=(1, 5))
    assert result.status[0] == "failed" and result.ranks[0] is None
    assert result.n_probe_failures == 1 and result.n_probes == 5
    assert result.accuracy[1] == pytest.approx(1 / 5)  # only b1' is still at rank 1
    assert result.accuracy_detected[1] == pytest.approx(1 / 4)  # over the four embedded probes
    assert result.accuracy[5] == pytest.approx(4 / 5)


def test_failed_clean_embeddings_leave_the_templates() -> None:
    clean = CLEAN.copy()
    clean[1] = np.nan  # a2's clean photo failed: A's templates use a1 and a3 only
    result = identify(clean, PROTECTED, IDENTITIES, ks=(1,))
    assert result.n_gallery_failures == 1
    # a1' against a3 alone: cos 0.8, still first.  a2' is still a probe (a1 and a3 remain): C at 1 is ahead,
    # B ties at 0 -> rank 3.  a3' against a1 alone: cos 0 -> B ahead, C ties -> rank 3.
    assert result.ranks[:3] == [1, 3, 3]


def test_same_image_cosine_and_verification_rate_use_the_recognizer_threshold() -> None:
    result = identify(CLEAN, PROTECTED, IDENTITIES, threshold=0.5)
    expected = [1.0, 0.0, 0.6, 0.8, 0.0, 1.0]
    np.testing.assert_allclose(result.same_image_cosine, expected, atol=1e-12)
    assert result.same_image_cosine_mean == pytest.approx(np.mean(expected))
    assert result.verified_rate == pytest.approx(4 / 6)
    assert identify(CLEAN, PROTECTED, IDENTITIES).verified_rate is None


def test_embeddings_need_not_be_normalised() -> None:
    scaled = identify(CLEAN * 7.0, PROTECTED * np.arange(1, 7)[:, None], IDENTITIES, ks=(1, 5))
    assert scaled.ranks == [1, 3, 3, 1, 3, None]


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="do not match"):
        identify(CLEAN, PROTECTED[:5], IDENTITIES)
    with pytest.raises(ValueError, match="do not match"):
        identify(CLEAN, PROTECTED, IDENTITIES[:5])
