"""Tests for ppsci_ext.metric.scores: Inception Score, FID, streaming and caching."""

import os
import warnings

import ppsci_ext  # noqa: F401  (CPU settings before paddle)
import numpy as np
import paddle
import pytest
from scipy import linalg

from ppsci_ext.metric import inception as inc
from ppsci_ext.metric import scores

# ------------------------------------------------------------------ Inception Score


def test_is_of_identical_one_hot_predictions_is_one():
    probs = np.zeros((100, 1008))
    probs[:, 17] = 1.0
    assert scores.inception_score(probs) == (1.0, 0.0)


@pytest.mark.parametrize("k", [1, 2, 7, 10])
def test_is_of_one_hot_spread_evenly_over_k_classes_is_k(k):
    splits, per_split = 10, 5 * k
    labels = np.tile(np.arange(k), splits * per_split // k)
    probs = np.eye(1008)[labels]
    mean, std = scores.inception_score(probs, splits=splits)
    assert mean == pytest.approx(k, rel=1e-12) and std == pytest.approx(0.0, abs=1e-12)
    # confident logits give nearly the same score
    mean, _ = scores.inception_score(probs * 50.0 - 25.0, splits=splits)
    assert mean == pytest.approx(k, rel=1e-6)


def test_is_matches_direct_kl_and_split_std():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(6) * 0.3, size=103)  # 103 rows: unequal splits
    mean, std = scores.inception_score(probs, splits=4)
    per_split = []
    for k in range(4):
        part = probs[k * 103 // 4 : (k + 1) * 103 // 4]
        marginal = part.mean(axis=0)
        kl = [np.sum(p * (np.log(p) - np.log(marginal))) for p in part]
        per_split.append(np.exp(np.mean(kl)))
    assert mean == pytest.approx(np.mean(per_split), rel=1e-12)
    assert std == pytest.approx(np.std(per_split), rel=1e-10)
    # split 0 sees 2 classes, split 1 sees 4: scores 2 and 4
    two = np.eye(8)[[0, 1] * 4 + [0, 1, 2, 3] * 2]
    assert scores.inception_score(two, splits=2) == pytest.approx((3.0, 1.0))
    # logits are detected and put through a softmax
    logits = rng.normal(size=(40, 5))
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert scores.inception_score(logits, 2) == pytest.approx(scores.inception_score(soft, 2))
    assert scores.inception_score(paddle.to_tensor(soft), 2) == pytest.approx(
        scores.inception_score(soft, 2)
    )


def test_is_bad_input_raises():
    with pytest.raises(ValueError, match="splits"):
        scores.inception_score(np.ones((5, 3)) / 3, splits=10)
    with pytest.raises(ValueError, match="shape"):
        scores.inception_score(np.ones(30), splits=2)
    with pytest.raises(ValueError, match="NaN"):
        scores.inception_score(np.full((20, 3), np.nan), splits=2)


# ------------------------------------------------------------------------- FID


def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(2000, 16)) @ rng.normal(size=(16, 16)) + 3.0
    assert scores.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-8)
    mu, sigma = scores.feature_statistics(f)
    assert scores.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)
    # fewer samples than dimensions: a singular covariance still gives ~0
    g = rng.normal(size=(40, 64))
    assert abs(scores.fid_from_features(g, g)) < 1e-4


def test_fid_of_gaussians_matches_closed_form():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    v1, v2 = rng.uniform(0.5, 3, 5), rng.uniform(0.5, 3, 5)
    # diagonal: |mu1 - mu2|^2 + sum (sqrt(v1) - sqrt(v2))^2
    exact = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert scores.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(
        exact, rel=1e-10
    )
    # commuting covariances (same eigenvectors): the same formula on the eigenvalues
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    got = scores.frechet_distance(mu1, q @ np.diag(v1) @ q.T, mu2, q @ np.diag(v2) @ q.T)
    assert got == pytest.approx(exact, rel=1e-8)
    # sampled features approach the closed form
    a = mu1 + rng.normal(size=(200000, 5)) * np.sqrt(v1)
    b = mu2 + rng.normal(size=(200000, 5)) * np.sqrt(v2)
    assert scores.fid_from_features(a, b) == pytest.approx(exact, rel=0.02, abs=0.01)
    assert scores.fid_from_features(a, (mu2, np.diag(v2))) == pytest.approx(
        exact, rel=0.02, abs=0.01
    )


def test_sqrtm_imaginary_residue_and_non_finite(monkeypatch):
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    exact = (1 - 3) ** 2 + (2 - 1) ** 2
    real_sqrtm = linalg.sqrtm

    def with_residue(m):
        return real_sqrtm(m) + 1e-9j  # tiny imaginary residue: dropped

    monkeypatch.setattr(linalg, "sqrtm", with_residue)
    assert scores.frechet_distance(np.zeros(2), s1, np.zeros(2), s2) == pytest.approx(exact)

    monkeypatch.setattr(linalg, "sqrtm", lambda m: real_sqrtm(m) + 0.1j * np.eye(2))
    with pytest.raises(ValueError, match="[Ii]maginary component"):
        scores.frechet_distance(np.zeros(2), s1, np.zeros(2), s2)

    seen = []

    def first_inf(m):
        seen.append(m)
        return np.full_like(m, np.inf) if len(seen) == 1 else real_sqrtm(m)

    monkeypatch.setattr(linalg, "sqrtm", first_inf)
    with pytest.warns(UserWarning, match="singular"):
        got = scores.frechet_distance(np.zeros(2), s1, np.zeros(2), s2, eps=1e-3)
    np.testing.assert_allclose(seen[1], (s1 + 1e-3 * np.eye(2)) @ (s2 + 1e-3 * np.eye(2)))
    assert got == pytest.approx(exact, abs=1e-2)
    monkeypatch.undo()
    # a genuinely complex square root (not a covariance product) raises
    with pytest.raises(ValueError, match="[Ii]maginary"):
        scores.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="shapes"):
        scores.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# ---------------------------------------------------------- streaming with a fake net


class FakeNet(paddle.nn.Layer):
    """Stands in for the Inception net: 'pool3' = per-channel mean, std and a pixel;
    'logits' = a fixed linear map of it. Counts its calls."""

    def __init__(self, with_fc=True):
        super().__init__()
        self.with_fc, self.calls = with_fc, 0
        self.w = paddle.to_tensor(
            np.random.default_rng(0).normal(size=(9, 5)).astype("float32") / 50
        )

    def forward(self, images):
        self.calls += 1
        x = images / 255.0
        feats = paddle.concat([x.mean(axis=[2, 3]), x.std(axis=[2, 3]), x[:, :, 0, 0]], axis=1)
        out = {"pool3": feats}
        if self.with_fc:
            out["logits"] = paddle.matmul(feats, self.w) * 100
        return out


def _uint8_images(n, seed=0, size=8):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _as_float_nchw(images_uint8):
    """Floats in [-1, 1] that quantise back to exactly these uint8 values."""
    return (images_uint8.transpose(0, 3, 1, 2).astype(np.float64) + 0.5) * 2 / 255.99 - 1


def test_to_inception_input_conventions():
    u8 = _uint8_images(3)
    x = scores.to_inception_input(u8)
    assert x.shape == (3, 3, 8, 8) and x.dtype == np.float32
    np.testing.assert_array_equal(x, u8.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(scores.to_inception_input(_as_float_nchw(u8)), x)
    np.testing.assert_array_equal(
        scores.to_inception_input(paddle.to_tensor(_as_float_nchw(u8))), x
    )
    edges = scores.to_inception_input(
        np.array([-1.5, -1.0, 0.0, 0.999, 1.0, 2.0]).reshape(1, 1, 1, 6)
    )
    np.testing.assert_array_equal(edges[0, 0, 0], [0, 0, 127, 255, 255, 255])
    grey = scores.to_inception_input(u8[..., :1])  # NHW1 uint8
    np.testing.assert_array_equal(grey, np.repeat(u8[..., :1].transpose(0, 3, 1, 2), 3, axis=1))
    np.testing.assert_array_equal(scores.to_inception_input(u8[..., 0]), grey)  # NHW
    with pytest.raises(ValueError, match="channels"):
        scores.to_inception_input(np.zeros((2, 4, 8, 8), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        scores.to_inception_input(np.full((1, 3, 2, 2), np.nan))
    with pytest.raises(ValueError, match="uint8"):
        scores.to_inception_input(np.zeros((1, 2, 2, 3), np.int32))


def test_inception_outputs_batches_iterables_and_num_samples():
    net, u8 = FakeNet(), _uint8_images(23)
    whole = {k: v.numpy() for k, v in net(paddle.to_tensor(scores.to_inception_input(u8))).items()}
    net.calls = 0
    out = scores.inception_outputs(
        u8, net, batch_size=5, outputs=("pool3", "logits"), progress=False
    )
    assert net.calls == 5
    for k in ("pool3", "logits"):
        np.testing.assert_allclose(out[k], whole[k], rtol=1e-5, atol=1e-6)
    # an iterable of uneven batches, float convention, cut at num_samples
    batches = (_as_float_nchw(u8[i : i + 9]) for i in range(0, 23, 9))
    part = scores.inception_outputs(batches, net, batch_size=4, num_samples=13, progress=False)
    np.testing.assert_allclose(part["pool3"], whole["pool3"][:13], rtol=1e-5, atol=1e-6)
    assert scores.inception_outputs(u8, net, num_samples=7, progress=False)["pool3"].shape == (7, 9)


def test_progress_line_without_tqdm(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    scores.inception_outputs(_uint8_images(20), FakeNet(), batch_size=10)
    assert "inception: 20/20 images" in capsys.readouterr().err


def test_streaming_statistics_match_feature_statistics():
    net, u8 = FakeNet(), _uint8_images(37, seed=3)
    feats = scores.inception_outputs(u8, net, progress=False)["pool3"]
    mu, sigma = scores.image_statistics(u8, net, batch_size=8, progress=False)
    mu_ref, sigma_ref = scores.feature_statistics(feats)
    np.testing.assert_allclose(mu, mu_ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sigma, sigma_ref, rtol=1e-5, atol=1e-9)
    # large offsets do not hurt the running sums (they are shifted)
    big = scores._Moments()
    data = np.random.default_rng(4).normal(size=(300, 4)) + 1e6
    for i in range(0, 300, 64):
        big.add(data[i : i + 64])
    np.testing.assert_allclose(big.result()[1], np.cov(data, rowvar=False), rtol=1e-8)


def test_compute_is_and_fid_and_real_network_shapes():
    net, u8 = FakeNet(), _uint8_images(40, seed=5)
    logits = scores.inception_outputs(u8, net, outputs=("logits",), progress=False)["logits"]
    with pytest.warns(UserWarning, match="not comparable"):
        got = scores.compute_inception_score(u8, splits=4, model=net, progress=False)
    assert got == scores.inception_score(logits, 4, logits=True)
    stats = scores.image_statistics(u8, net, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert abs(scores.compute_fid(u8, stats, model=net, progress=False)) < 1e-6
        assert scores.compute_fid(_uint8_images(40, seed=6), stats, model=net, progress=False) > 0
    real = inc.FIDInceptionV3(with_fc=True)
    out = scores.inception_outputs(
        _as_float_nchw(u8[:2]), real, outputs=("pool3", "logits"), progress=False
    )
    assert out["pool3"].shape == (2, 2048) and out["logits"].shape == (2, 1008)
    with pytest.raises(RuntimeError, match=inc.PTH_FILE):
        scores.inception_outputs(
            u8[:2], FakeNet(with_fc=False), outputs=("logits",), progress=False
        )


def test_inception_metrics_in_one_pass_match_the_separate_scores():
    net, u8 = FakeNet(), _uint8_images(30, seed=8)
    ref = scores.image_statistics(_uint8_images(25, seed=9), net, progress=False)
    net.calls = 0
    got = scores.inception_metrics(u8, net, ref, splits=3, batch_size=10, progress=False)
    assert net.calls == 3  # one pass for both scores
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer than 50,000 images
        is_mean, is_std = scores.compute_inception_score(u8, 3, model=net, batch_size=10,
                                                         progress=False)
        fid = scores.compute_fid(u8, ref, model=net, batch_size=10, progress=False)
    assert got == pytest.approx({"IS": is_mean, "IS_std": is_std, "FID": fid}, rel=1e-9)
    # without fc: the FID only; without a reference either: nothing
    pool3 = FakeNet(with_fc=False)
    assert set(scores.inception_metrics(u8, pool3, ref, progress=False)) == {"FID"}
    assert scores.inception_metrics(u8, pool3, None, progress=False) == {}
    assert set(scores.inception_metrics(u8, net, None, splits=3, progress=False)) == {"IS", "IS_std"}


# ------------------------------------------------------------ reference statistics


def test_reference_statistics_from_array_is_cached(tmp_path):
    net, u8 = FakeNet(), _uint8_images(30, seed=7)
    cache = str(tmp_path)
    mu, sigma = scores.reference_statistics_from_array(u8, "toy", 25, cache, net, progress=False)
    files = os.listdir(tmp_path / "fid_stats")
    assert len(files) == 1 and files[0].startswith("toy-") and files[0].endswith(".npz")
    ref = scores.feature_statistics(scores.inception_outputs(u8[:25], net, progress=False)["pool3"])
    np.testing.assert_allclose(mu, ref[0], rtol=1e-6)
    net.calls = 0
    again = scores.reference_statistics_from_array(u8, "toy", 25, cache, net, progress=False)
    assert net.calls == 0 and np.array_equal(again[1], sigma)
    changed = u8.copy()
    changed[3, 0, 0, 0] ^= 1
    scores.reference_statistics_from_array(changed, "toy", 25, cache, net, progress=False)
    assert net.calls > 0 and len(os.listdir(tmp_path / "fid_stats")) == 2
    assert np.array_equal(scores.load_statistics(str(tmp_path / "fid_stats" / files[0]))[0], mu)


def test_reference_statistics_from_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    u8 = _uint8_images(7, seed=8)
    for i, im in enumerate(u8[:5]):
        Image.fromarray(im).save(folder / f"{i}.png")
    Image.fromarray(u8[5]).save(folder / "sub" / "5.png")
    Image.fromarray(u8[6, :, :, 0]).save(folder / "sub" / "6.png")  # grey PNG
    Image.fromarray(_uint8_images(1, 9, size=12)[0]).save(folder / "sub" / "7.jpg", quality=95)
    (folder / "notes.txt").write_text("not an image")
    net = FakeNet()
    mu, sigma = scores.reference_statistics_from_folder(
        str(folder), cache=str(tmp_path / "c"), model=net, batch_size=4, progress=False
    )
    files = sorted(os.listdir(tmp_path / "c" / "fid_stats"))
    assert len(files) == 1 and files[0].startswith("imgs-")
    images = [u8[i] for i in range(6)] + [np.repeat(u8[6, :, :, :1], 3, axis=2)]
    feats = scores.inception_outputs(np.stack(images), net, progress=False)["pool3"]
    jpg = np.asarray(Image.open(folder / "sub" / "7.jpg").convert("RGB"))[None]
    feats = np.concatenate([feats, scores.inception_outputs(jpg, net, progress=False)["pool3"]])
    np.testing.assert_allclose(mu, feats.mean(axis=0), rtol=1e-5)
    net.calls = 0
    scores.reference_statistics_from_folder(
        str(folder), cache=str(tmp_path / "c"), model=net, progress=False
    )
    assert net.calls == 0
    with pytest.raises(FileNotFoundError, match="no PNG"):
        scores.reference_statistics_from_folder(
            str(tmp_path / "c"), cache=str(tmp_path / "c"), model=net
        )


def test_reference_statistics_from_file_with_loader(tmp_path):
    path = str(tmp_path / "data.npy")
    np.save(path, _uint8_images(12, seed=10))
    net, loads = FakeNet(), []

    def load_train(p):
        loads.append(p)
        return np.load(p)

    def load_head(p):
        return (b for b in [np.load(p)[:6]])

    cache = str(tmp_path / "c")
    a = scores.reference_statistics_from_file(
        path, load_train, cache=cache, model=net, progress=False
    )
    scores.reference_statistics_from_file(path, load_train, cache=cache, model=net, progress=False)
    assert len(loads) == 1  # second call read the cache
    b = scores.reference_statistics_from_file(
        path, load_head, cache=cache, model=net, progress=False
    )
    assert not np.allclose(a[0], b[0])
    names = sorted(os.listdir(tmp_path / "c" / "fid_stats"))
    assert [n.split("-")[0] for n in names] == ["load_head", "load_train"]


# ------------------------------------------------------------------ ppsci metrics


def test_functional_metrics():
    from ppsci.metric import FunctionalMetric

    net = FakeNet()
    u8 = _uint8_images(20, seed=11)
    images = paddle.to_tensor(_as_float_nchw(u8).astype("float32"))
    is_metric = scores.build_inception_score_metric(
        key="gen", num_samples=20, splits=2, model=net, progress=False
    )
    assert isinstance(is_metric, FunctionalMetric)
    result = is_metric({"gen": images}, {})
    mean, std = scores.compute_inception_score(u8, 2, 20, net, progress=False)
    assert set(result) == {"IS", "IS_std"} and result["IS"].shape == []
    assert float(result["IS"]) == pytest.approx(mean, rel=1e-6)
    assert float(result["IS_std"]) == pytest.approx(std, rel=1e-5, abs=1e-9)
    with pytest.raises(KeyError, match="gen"):
        is_metric({"x": images}, {})
    with pytest.warns(UserWarning, match="20 images, fewer than 50000"):
        scores.build_inception_score_metric(key="gen", splits=2, model=net, progress=False)(
            {"gen": images}, {}
        )

    stats = scores.image_statistics(u8, net, progress=False)
    fid_metric = scores.build_fid_metric(stats, num_samples=20, model=net, progress=False)
    fid = fid_metric({"x": images}, {})
    assert set(fid) == {"FID"} and abs(float(fid["FID"])) < 1e-6
    grey = fid_metric({"x": images[:, :1]}, {})  # grey images are repeated to 3 channels
    assert float(grey["FID"]) > 0
    with pytest.raises(RuntimeError, match=inc.PTH_FILE):
        scores.build_inception_score_metric(model=FakeNet(with_fc=False))
