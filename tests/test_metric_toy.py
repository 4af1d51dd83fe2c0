"""Tests for ppsci_ext.metric.toy (toy-data WGAN-GP metrics)."""

import importlib.util
import json
import pathlib
import sys

import numpy as np
import paddle
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:
    from ppsci_ext.metric import toy
except ImportError:  # package __init__ files may not exist (yet)
    _spec = importlib.util.spec_from_file_location(
        "ppsci_ext_metric_toy", ROOT / "ppsci_ext" / "metric" / "toy.py"
    )
    toy = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(toy)


def sample_mixture(mode, n, seed=0, centre_ids=None):
    """Draw n points like gan_toy.py: centre + N(0, std^2), all divided by the scale."""
    rng = np.random.default_rng(seed)
    centres = toy.mode_centres(mode)
    ids = np.arange(len(centres)) if centre_ids is None else np.asarray(centre_ids)
    choice = rng.choice(ids, size=n)
    return centres[choice] + rng.standard_normal((n, 2)) * toy.mode_sigma(mode)


@pytest.mark.parametrize("mode, k", [("8gaussians", 8), ("25gaussians", 25)])
def test_centres_and_sigma(mode, k):
    centres = toy.mode_centres(mode)
    assert centres.shape == (k, 2)
    if mode == "8gaussians":
        np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2 / 1.414)
        assert toy.mode_sigma(mode) == pytest.approx(0.02 / 1.414)
    else:
        np.testing.assert_allclose(np.unique(centres[:, 0]) * 2.828, [-4, -2, 0, 2, 4])
        assert toy.mode_sigma(mode) == pytest.approx(0.05 / 2.828)


@pytest.mark.parametrize("mode", ["8gaussians", "25gaussians"])
def test_real_samples_score_high(mode):
    x = sample_mixture(mode, 20000, seed=1)
    share = toy.high_quality_share(x, mode)
    assert 0.98 <= share <= 0.995  # expected 1 - exp(-4.5) = 0.9889
    assert toy.modes_covered(x, mode) == len(toy.mode_centres(mode))


def test_all_samples_at_one_centre():
    x = np.repeat(toy.mode_centres("25gaussians")[7:8], 100, axis=0)
    assert toy.high_quality_share(x, "25gaussians") == 1.0
    assert toy.modes_covered(x, "25gaussians") == 1


def test_samples_far_from_every_centre():
    x = np.full((50, 2), 10.0)
    assert toy.high_quality_share(x, "8gaussians") == 0.0
    assert toy.modes_covered(x, "8gaussians") == 0


def test_missing_three_of_eight_modes():
    x = sample_mixture("8gaussians", 4000, seed=2, centre_ids=[0, 1, 2, 4, 6])
    assert toy.modes_covered(x, "8gaussians") == 5


def test_twenty_percent_threshold():
    # N = 8000, K = 8: fair share 1000, threshold 200 high-quality samples
    c = toy.mode_centres("8gaussians")
    parts = [
        np.repeat(c[0:1], 210, axis=0),  # 21% -> covered
        np.repeat(c[1:2], 190, axis=0),  # 19% -> not covered
        np.repeat(c[2:3], 200, axis=0),  # exactly 20% -> covered
        np.full((8000 - 600, 2), 10.0),  # low quality, still counted in N
    ]
    x = np.concatenate(parts)
    assert toy.modes_covered(x, "8gaussians") == 2
    # samples outside 3 sigma do not count towards a centre (or towards the share)
    off = np.repeat(c[1:2] + [4 * toy.mode_sigma("8gaussians"), 0], 1000, axis=0)
    y = np.concatenate([parts[0], off, parts[2], parts[3][: 8000 - 1410]])
    assert toy.modes_covered(y, "8gaussians") == 2
    assert toy.high_quality_share(y, "8gaussians") == pytest.approx(410 / 8000)


def test_sliced_wasserstein_properties():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 2))
    assert toy.sliced_wasserstein(x, x) == 0.0
    v = np.array([1.5, 0.0])
    expected = np.linalg.norm(v) * 2 / np.pi  # |v| E|cos(theta)|
    # the Monte Carlo error of 1000 directions is ~1.5%, so use more (on fewer points)
    shifted = toy.sliced_wasserstein(x[:200], x[:200] + v, num_projections=5000)
    assert shifted == pytest.approx(expected, rel=0.03)
    assert toy.sliced_wasserstein(x, x + v) == pytest.approx(expected, rel=0.05)
    y = rng.normal(size=(700, 2)) + 0.3  # unequal sample sizes
    d_xy, d_yx = toy.sliced_wasserstein(x, y), toy.sliced_wasserstein(y, x)
    assert d_xy > 0 and d_xy == pytest.approx(d_yx, abs=1e-12)
    # higher dimension works, and the seed makes it deterministic
    z = rng.normal(size=(300, 5))
    assert toy.sliced_wasserstein(z, z + 1, 50, seed=7) == toy.sliced_wasserstein(
        z, z + 1, 50, seed=7
    )


@pytest.mark.parametrize(
    "bad", [np.zeros((10, 3)), np.zeros(10), np.zeros((0, 2)), np.zeros((2, 2, 2))]
)
def test_bad_shapes_raise(bad):
    with pytest.raises(ValueError, match="shape"):
        toy.high_quality_share(bad, "8gaussians")
    with pytest.raises(ValueError, match="shape"):
        toy.modes_covered(bad, "8gaussians")


def test_nan_and_dimension_mismatch_raise():
    x = np.zeros((5, 2))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        toy.high_quality_share(x, "8gaussians")
    with pytest.raises(ValueError, match="NaN"):
        toy.sliced_wasserstein(x, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="dimension"):
        toy.sliced_wasserstein(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="num_projections"):
        toy.sliced_wasserstein(np.zeros((5, 2)), np.zeros((5, 2)), num_projections=0)


@pytest.mark.parametrize("func", [toy.mode_centres, toy.mode_sigma])
def test_unknown_mode_raises(func):
    for mode in ["swissroll", "9gaussians"]:
        with pytest.raises(ValueError, match=mode) as err:
            func(mode)
        assert "8gaussians" in str(err.value) and "25gaussians" in str(err.value)
    with pytest.raises(ValueError, match="moons"):
        toy.toy_scores(np.zeros((3, 2)), np.zeros((3, 2)), "moons")


def test_toy_scores_types_and_swissroll():
    real = sample_mixture("8gaussians", 1000, seed=4)
    fake = sample_mixture("8gaussians", 800, seed=5, centre_ids=[0, 1, 2])
    scores = toy.toy_scores(fake, real, "8gaussians", num_projections=200)
    assert set(scores) == {"high_quality_share", "modes_covered", "num_modes", "sliced_w1"}
    assert scores["modes_covered"] == 3 and scores["num_modes"] == 8
    assert type(scores["modes_covered"]) is int and type(scores["sliced_w1"]) is float
    json.dumps(scores)
    swiss = toy.toy_scores(real, real + 0.1, "swissroll", num_projections=100)
    assert list(swiss) == ["sliced_w1"] and swiss["sliced_w1"] > 0


@pytest.mark.parametrize("mode", ["25gaussians", "swissroll"])
def test_functional_metric_matches_toy_scores(mode):
    from ppsci.metric import FunctionalMetric

    base = "25gaussians"
    real = sample_mixture(base, 1000, seed=6)
    fake = sample_mixture(base, 600, seed=7, centre_ids=range(10))
    metric = toy.build_toy_metric(mode, real, key="gen", num_projections=100)
    assert isinstance(metric, FunctionalMetric)
    expected = toy.toy_scores(fake, real, mode, num_projections=100)
    for inputs in (paddle.to_tensor(fake), fake):
        result = metric({"gen": inputs}, {})
        assert set(result) == set(expected)
        for name, value in result.items():
            assert isinstance(value, paddle.Tensor) and value.shape == []
            assert float(value) == pytest.approx(expected[name], abs=1e-12)
    with pytest.raises(KeyError, match="gen"):
        metric({"x": fake})
