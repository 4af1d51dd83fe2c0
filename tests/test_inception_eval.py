"""Tests for ppsci_ext.experiments.inception_eval: what the MNIST and CIFAR-10
experiments share to score samples with the FID Inception network (network lookup
and its messages, the metric of training-time evaluation, its record)."""

import json
from types import SimpleNamespace

import numpy as np
import paddle
import pytest
from omegaconf import OmegaConf

from ppsci_ext.experiments import inception_eval as ie
from ppsci_ext.metric import inception as inc
from ppsci_ext.metric import scores


def eval_cfg(**keys):
    ev = {"inception_weights": None, "cache_dir": None, "fid_reference": None, "is_splits": 2,
          "batch_size": 4}
    ev.update(keys)
    return OmegaConf.create({"EVAL": ev})


class FakeNet(paddle.nn.Layer):
    """Stands in for the Inception network: 3 image statistics as 'pool3'."""

    def __init__(self, with_fc=True):
        super().__init__()
        self.with_fc = with_fc
        self.w = paddle.to_tensor(np.random.default_rng(0).normal(size=(3, 4)).astype("float32"))

    def forward(self, images):
        x = images / 255.0
        feats = paddle.stack([x.mean(axis=[1, 2, 3]), x.std(axis=[1, 2, 3]),
                              x[:, 0, :4].mean(axis=[1, 2])], axis=1)
        out = {"pool3": feats}
        if self.with_fc:
            out["logits"] = paddle.matmul(feats, self.w) * 10
        return out


# ------------------------------------------------------------------ find_network


def test_find_network_names_the_missing_files_and_commands(tmp_path):
    net, missing = ie.find_network(eval_cfg(cache_dir=str(tmp_path)))
    assert net is None and set(missing) == {"FID", "IS"}
    assert str(tmp_path / inc.POOL3_WEIGHTS) in missing["FID"]
    assert "python -m ppsci_ext.metric.inception --fetch" in missing["FID"]
    assert inc.PTH_FILE in missing["IS"] and inc.PTH_URL in missing["IS"]
    assert f"--convert {inc.PTH_FILE}" in missing["IS"]

    net, missing = ie.find_network(eval_cfg(inception_weights=str(tmp_path / "nowhere.pdparams")))
    assert net is None and missing["FID"] == missing["IS"]
    assert "nowhere.pdparams' does not exist" in missing["FID"] and "--fetch" in missing["FID"]

    other = tmp_path / "other.pt"
    other.write_bytes(b"not a torch file")
    net, missing = ie.find_network(eval_cfg(inception_weights=str(other)))
    assert net is None and "could not be read" in missing["FID"]


def test_find_network_with_pool3_weights_leaves_out_the_inception_score_only(tmp_path):
    paddle.save(inc.FIDInceptionV3(with_fc=False).state_dict(), str(tmp_path / inc.POOL3_WEIGHTS))
    net, missing = ie.find_network(eval_cfg(cache_dir=str(tmp_path)))
    assert net is not None and not net.with_fc
    assert set(missing) == {"IS"} and "pool3 layers only" in missing["IS"]
    assert inc.PTH_FILE in missing["IS"]


# ------------------------------------------------------------------ reference


def test_reference_statistics_from_images_file_or_why_not(tmp_path):
    cfg = eval_cfg(cache_dir=str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8)
    stats, source, why = ie.reference_statistics(cfg, FakeNet(), "grey", lambda: images, "test set")
    assert why is None and source == "test set, 12 images"
    np.testing.assert_allclose(stats[0], scores.image_statistics(images, FakeNet(), progress=False)[0])
    assert len(list((tmp_path / "fid_stats").glob("grey-*.npz"))) == 1

    def unavailable():
        raise FileNotFoundError("set DATA.data_path")

    assert ie.reference_statistics(cfg, FakeNet(), "x", unavailable, "test set") == (
        None, None, "FID needs test set statistics: set DATA.data_path")
    missing = eval_cfg(fid_reference=str(tmp_path / "none.npz"))
    stats, _, why = ie.reference_statistics(missing, FakeNet(), "x", lambda: images, "test set")
    assert stats is None and "EVAL.fid_reference=" in why and "does not exist" in why


# ------------------------------------------------------------------ scoring


def test_score_samples_reports_the_scores_the_note_and_what_is_missing():
    cfg = eval_cfg()
    images = np.random.default_rng(1).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    ref = scores.image_statistics(np.random.default_rng(2).integers(0, 256, (20, 8, 8, 3), dtype=np.uint8),
                                  FakeNet(), progress=False)
    not_computed = {}
    got = ie.score_samples(cfg, images, FakeNet(), not_computed, (ref, "real", None))
    want = scores.inception_metrics(images, FakeNet(), ref, splits=2, batch_size=4, progress=False)
    assert {k: got[k] for k in want} == want and got["fid_reference"] == "real"
    assert got["note"].startswith("10 samples: not comparable") and not_computed == {}

    not_computed = {}
    got = ie.score_samples(cfg, images, FakeNet(with_fc=False), not_computed,
                           (None, None, "FID needs real statistics"), note="own note")
    assert got == {"IS": None, "IS_std": None, "FID": None}
    assert not_computed == {"FID": "FID needs real statistics"}


class _Solver(SimpleNamespace):
    pass


def test_eval_history_records_each_evaluation_with_its_iteration(tmp_path):
    history = ie.EvalHistory(str(tmp_path))
    history.record({"FID": 1.0})  # no solver yet: nothing to attach it to
    assert not (tmp_path / ie.HISTORY_FILE).exists()
    solver = _Solver(global_step=100, iters_per_epoch=50, rank=1)
    history(solver)
    history.record({"FID": 1.0})  # not rank 0
    assert not (tmp_path / ie.HISTORY_FILE).exists()
    solver.rank = 0
    for step, fid in ((100, 3.0), (200, 2.0), (300, 1.5)):
        solver.global_step = step
        history.record({"FID": fid})
    # resumed from iteration 150: the evaluations it repeats are replaced
    solver.global_step = 200
    history.record({"FID": 2.5, "IS": paddle.to_tensor(1.2)})
    rows = [json.loads(line) for line in (tmp_path / ie.HISTORY_FILE).read_text().splitlines()]
    assert rows == [{"iteration": 100, "epoch": 2, "FID": 3.0},
                    {"iteration": 200, "epoch": 4, "FID": 2.5, "IS": pytest.approx(1.2)}]


def test_samples_metric_scores_pixels_adds_other_metrics_and_records(tmp_path):
    from ppsci.metric import FunctionalMetric

    rng = np.random.default_rng(3)
    generated = rng.uniform(0, 1, (12, 1, 8, 8)).astype("float32")
    ref = (np.zeros(3), np.eye(3))

    def to_pixels(x):
        return (x[:, 0] * 255).astype(np.uint8)

    def brightness(output_dict, label_dict=None):
        return {"mean": paddle.to_tensor(float(np.mean(output_dict["x"].numpy())))}

    history = ie.EvalHistory(str(tmp_path))
    history(_Solver(global_step=7, iters_per_epoch=7, rank=0))
    metric = ie.samples_metric(FakeNet(), ref, "x", splits=3, batch_size=5, to_pixels=to_pixels,
                               extra=[FunctionalMetric(brightness)], history=history)
    got = {k: float(v) for k, v in metric({"x": paddle.to_tensor(generated)}, {}).items()}
    want = scores.inception_metrics(to_pixels(generated), FakeNet(), ref, splits=3, progress=False)
    assert got == pytest.approx({**want, "mean": float(generated.mean())})
    row = json.loads((tmp_path / ie.HISTORY_FILE).read_text())
    assert row == pytest.approx({"iteration": 7, "epoch": 1, **got})
    # without a network: the other metrics only
    alone = ie.samples_metric(None, None, "x", extra=[FunctionalMetric(brightness)])
    assert set(alone({"x": paddle.to_tensor(generated)}, {})) == {"mean"}
