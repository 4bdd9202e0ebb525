"""The fits behind the answer layer: the abstention decision's logistic regression and its cosine floor."""

import numpy as np

from rag import abstention
from rag.fit import fit_abstention, logistic, standardized_logistic


def narrow_signal_data(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Labels decided by a signal that spans only 0 to 0.1 (like a cosine), next to a wide noisy one."""
    rng = np.random.default_rng(0)
    narrow = rng.uniform(0, 0.1, n)
    wide = rng.normal(0, 10, n)
    y = (narrow > 0.05).astype(float)
    return np.c_[np.ones(n), narrow, wide], y


def accuracy(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.mean(((x @ w) > 0) == (y == 1)))


def test_standardized_weights_apply_to_the_raw_signals() -> None:
    x, y = narrow_signal_data()
    w = standardized_logistic(x, y)
    mean, spread = x[:, 1:].mean(0), x[:, 1:].std(0)
    scaled = np.c_[x[:, :1], (x[:, 1:] - mean) / spread]
    assert np.allclose(x @ w, scaled @ logistic(scaled, y))


def test_a_signal_with_a_narrow_range_is_not_penalised_away() -> None:
    x, y = narrow_signal_data()
    assert accuracy(x, y, standardized_logistic(x, y)) > 0.95
    assert accuracy(x, y, logistic(x, y)) < accuracy(x, y, standardized_logistic(x, y))


def test_low_cosine_is_how_far_below_the_floor() -> None:
    assert abstention.low_cosine(0.05, 0.2) == 0.2 - 0.05
    assert abstention.low_cosine(0.35, 0.2) == 0.0


def test_with_a_cosine_floor_passages_far_in_meaning_abstain_and_answerable_ones_stay_answered() -> None:
    # Answerable questions' closest sentences have cosines of 0.3 and up; unanswerable ones either sit
    # in the same range (on-topic) or far below it (off-topic).
    rng = np.random.default_rng(1)
    cosine = np.r_[rng.uniform(0.3, 0.7, 200), rng.uniform(0.3, 0.7, 60), rng.uniform(0.0, 0.1, 20)]
    y = np.r_[np.ones(200), np.zeros(80)]
    x = np.zeros((len(y), len(abstention.SIGNALS)))
    x[:, 0] = 1.0
    x[:, abstention.SIGNALS.index("sentence_cosine")] = cosine
    calibration = y == 1
    off_topic = slice(260, 280)
    floor, w, threshold, p = fit_abstention(x, y, calibration, 0.25, 0.03)
    assert floor == 0.25 and w[abstention.SIGNALS.index("low_cosine")] < 0
    assert np.all(p[off_topic] < threshold)
    assert np.mean(p[calibration] < threshold) <= 0.03
