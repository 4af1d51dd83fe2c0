"""WGAN-GP on the user's own data: every supported form written by the tests (PNG
folders grey, colour and with class subfolders, JPEG, 16-bit PNG, .npy N x H x W,
.npz N x C x H x W with labels, .csv and .npy tables), the errors a user can meet,
the scaling round trip, and short training + eval runs on one image form and one
vector form."""

import csv
import json

import numpy as np
import paddle
import pytest
from hydra import compose
from hydra import initialize_config_dir
from PIL import Image

from conftest import REPO
from conftest import run_entry
from ppsci_ext.data.arrays import ArrayDataError
from ppsci_ext.data.arrays import load_array
from ppsci_ext.data.folders import ImageFolderError
from ppsci_ext.data.folders import load_image_folder
from ppsci_ext.data.scaling import DataScaling
from ppsci_ext.data.scaling import image_scaling
from ppsci_ext.data.scaling import vector_scaling
from ppsci_ext.experiments import common
from ppsci_ext.experiments import custom

SCRIPT = REPO / "examples" / "wgangp" / "wgangp_custom.py"
RNG = np.random.default_rng(0)

# tiny networks and runs: a few seconds each
# eval, export and infer take the networks from the run's data_scaling.json
SHORT_EVAL = ["EVAL.num_samples=40", "EVAL.batch_size=20", "EVAL.num_projections=50",
              "INFER.num_samples=6", "INFER.batch_size=3"]
SHORT = ["TRAIN.epochs=2", "TRAIN.iters_per_epoch=2", "TRAIN.save_freq=1", "log_freq=1",
         "TRAIN.batch_size.critic=4", "TRAIN.batch_size.generator=4", "TRAIN.n_critic=1",
         "MODEL.images.generator.dim=4", "MODEL.images.critic.dim=4",
         "MODEL.images.generator.noise_dim=8",
         "MODEL.vectors.generator.hidden_dim=16", "MODEL.vectors.critic.hidden_dim=16"] + SHORT_EVAL


def custom_cfg(*overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        return compose("wgangp_custom.yaml", overrides=list(overrides))


def run(*overrides):
    """One mode in this process, as the entry point runs it (check, then the mode)."""
    cfg = custom_cfg(*overrides)
    custom.check_config(cfg)
    if cfg.mode == "train":
        common.prepare_training_run(cfg)
    return {"train": custom.train, "eval": custom.evaluate, "export": custom.export,
            "infer": custom.infer}[cfg.mode](cfg)


# ------------------------------------------------------------------ the forms


def save_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def grey_folder(tmp_path):
    folder = tmp_path / "grey"
    images = RNG.integers(0, 256, (5, 32, 32), dtype=np.uint8)
    for i, image in enumerate(images):
        save_png(folder / f"{i}.png", image)
    return folder, images


def test_png_folder_grey_is_read_exactly(grey_folder):
    folder, images = grey_folder
    data = load_image_folder(str(folder))
    assert data.images.shape == (5, 1, 32, 32) and data.images.dtype == np.uint8
    assert np.array_equal(data.images[:, 0], images) and data.labels is None


def test_png_folder_rgb_and_jpeg(tmp_path):
    images = RNG.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        save_png(tmp_path / "rgb" / f"{i}.png", image)
    data = load_image_folder(str(tmp_path / "rgb"))
    assert data.images.shape == (3, 3, 64, 64)
    assert np.array_equal(data.images.transpose(0, 2, 3, 1), images)
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(tmp_path / "rgb" / "x.JPG")
    assert load_image_folder(str(tmp_path / "rgb"), size=64).images.shape == (4, 3, 64, 64)


def test_folder_mixing_grey_and_colour_reads_colour(tmp_path):
    save_png(tmp_path / "a.png", np.full((32, 32), 77, np.uint8))
    save_png(tmp_path / "b.png", np.zeros((32, 32, 3), np.uint8))
    data = load_image_folder(str(tmp_path))
    assert data.images.shape == (2, 3, 32, 32) and (data.images[0] == 77).all()


def test_class_subfolders_give_labels(tmp_path):
    for name, count in (("cracked", 2), ("intact", 3)):
        for i in range(count):
            save_png(tmp_path / name / f"{i}.png", np.zeros((32, 32), np.uint8))
    data = load_image_folder(str(tmp_path))
    assert data.class_names == ["cracked", "intact"]
    assert data.labels.tolist() == [0, 0, 1, 1, 1]


def test_sixteen_bit_png_stays_sixteen_bit(tmp_path):
    image = (np.arange(1024).reshape(32, 32) * 60).astype(np.uint16)
    save_png(tmp_path / "a.png", image)
    data = load_image_folder(str(tmp_path))
    assert data.images.dtype == np.uint16 and np.array_equal(data.images[0, 0], image)
    scaling = image_scaling(data.images)
    assert (scaling.offset, scaling.scale) == ([32767.5], [32767.5])


def test_npy_n_h_w_and_npz_n_c_h_w_with_labels(tmp_path):
    np.save(tmp_path / "grey.npy", RNG.normal(size=(6, 32, 32)).astype(np.float32))
    data = load_array(str(tmp_path / "grey.npy"))
    assert (data.kind, data.layout, data.values.shape) == ("images", "NHW", (6, 1, 32, 32))
    fields = RNG.normal(size=(6, 2, 64, 64))
    np.savez(tmp_path / "fields.npz", u=fields, labels=np.array([3, 5, 3, 5, 5, 3]))
    data = load_array(str(tmp_path / "fields.npz"))
    assert (data.kind, data.layout, data.array_key, data.label_key) == ("images", "NCHW", "u", "labels")
    assert data.labels.tolist() == [0, 1, 0, 1, 1, 0] and data.class_names == [3, 5]
    assert np.array_equal(data.values, fields)


def write_csv(path, rows, header=None):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def test_csv_table_with_header_and_label_column(tmp_path):
    rows = [[1.5, "a", 2], [2.5, "b", 3], [3.5, "a", 4]]
    write_csv(tmp_path / "t.csv", rows, ["x", "kind", "y"])
    by_name = load_array(str(tmp_path / "t.csv"), label_column="kind")
    by_index = load_array(str(tmp_path / "t.csv"), label_column=1)
    for data in (by_name, by_index):
        assert data.values.tolist() == [[1.5, 2.0], [2.5, 3.0], [3.5, 4.0]]
        assert data.labels.tolist() == [0, 1, 0] and data.column_names == ["x", "y"]
        assert (data.label_column, data.label_name) == (1, "kind")
    write_csv(tmp_path / "plain.csv", [[1, 2], [3, 4]])  # no header
    data = load_array(str(tmp_path / "plain.csv"))
    assert data.column_names is None and data.values.shape == (2, 2)


def test_npy_table_with_label_column_and_label_file(tmp_path):
    table = np.column_stack([RNG.normal(size=(8, 3)), np.repeat([0.0, 1.0], 4)])
    np.save(tmp_path / "t.npy", table)
    data = load_array(str(tmp_path / "t.npy"), label_column=-1)
    assert data.kind == "vectors" and data.values.shape == (8, 3) and data.labels.sum() == 4
    np.save(tmp_path / "v.npy", table[:, :3])
    np.save(tmp_path / "y.npy", np.array(list("aabbaabb")))
    data = load_array(str(tmp_path / "v.npy"), label_path=str(tmp_path / "y.npy"))
    assert data.class_names == ["a", "b"] and data.labels.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]


def test_scaling_round_trip_and_json():
    images = RNG.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    s = image_scaling(images)
    assert np.array_equal(s.from_model(s.to_model(images)), images)
    assert s.to_model(images).min() >= -1 and s.to_model(images).max() <= 1
    fields = RNG.normal(5.0, 3.0, size=(4, 2, 32, 32))
    s = DataScaling.from_dict(json.loads(json.dumps(image_scaling(fields).to_dict())))
    assert np.allclose(s.to_model(fields).min(axis=(0, 2, 3)), -1, atol=1e-6)
    assert np.allclose(s.from_model(s.to_model(fields)), fields, atol=1e-5)
    table = RNG.normal([1000.0, -3.0], [50.0, 0.01], size=(100, 2))
    s = vector_scaling(table)
    z = s.to_model(table)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-5) and np.allclose(z.std(axis=0), 1, atol=1e-4)
    assert np.allclose(s.from_model(z), table, rtol=1e-6)


# ---------------------------------------------------------------------- errors


def test_mixed_sizes_name_the_sizes_and_files(tmp_path):
    save_png(tmp_path / "a.png", np.zeros((32, 32), np.uint8))
    save_png(tmp_path / "b.png", np.zeros((40, 32), np.uint8))
    with pytest.raises(ImageFolderError) as info:
        load_image_folder(str(tmp_path))
    text = str(info.value)
    assert "mixed sizes" in text and "32 x 32 (1 file, e.g. 'a.png')" in text
    assert "32 x 40 (1 file, e.g. 'b.png')" in text and "DATA.image_size" in text


def test_unsupported_size_is_refused_with_the_fix(tmp_path):
    np.save(tmp_path / "mnist_like.npy", np.zeros((4, 28, 28), np.uint8))
    cfg = custom_cfg(f"DATA.data_path={tmp_path}/mnist_like.npy", f"output_dir={tmp_path}/run")
    with pytest.raises(common.ConfigError) as info:
        custom.train(cfg)
    assert "28 x 28" in str(info.value) and "32 x 32 or 64 x 64" in str(info.value)
    assert "DATA.image_size=32" in str(info.value)
    cfg = custom_cfg(f"DATA.data_path={tmp_path}/mnist_like.npy", "DATA.image_size=32")
    data = custom.load_data(cfg.DATA.data_path, custom.read_options(cfg))
    assert data.values.shape == (4, 1, 32, 32) and data.values.dtype == np.uint8


def test_non_finite_values_are_counted_and_placed(tmp_path):
    write_csv(tmp_path / "t.csv", [[1, 2], [3, "nan"], ["", 4], [5, 6]], ["a", "b"])
    with pytest.raises(ArrayDataError) as info:
        load_array(str(tmp_path / "t.csv"))
    text = str(info.value)
    assert "'" + str(tmp_path / "t.csv") + "' holds 2 non-finite values" in text
    assert "row 1 (column 1)" in text and "row 2 (column 0)" in text
    images = np.zeros((5, 1, 32, 32), np.float32)
    images[3, 0, 1, 1] = np.inf
    np.save(tmp_path / "x.npy", images)
    with pytest.raises(ArrayDataError, match=r"x.npy' holds 1 non-finite values .* in image 3"):
        load_array(str(tmp_path / "x.npy"))


def test_empty_and_ambiguous_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(ImageFolderError, match="holds no images: expected files ending in .png"):
        load_image_folder(str(tmp_path / "empty"))
    save_png(tmp_path / "both" / "top.png", np.zeros((32, 32), np.uint8))
    save_png(tmp_path / "both" / "cls" / "a.png", np.zeros((32, 32), np.uint8))
    with pytest.raises(ImageFolderError, match="at its top level .* and in subfolders"):
        load_image_folder(str(tmp_path / "both"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageFolderError, match="broken.png' cannot be read as an image"):
        load_image_folder(str(tmp_path / "bad"))


def test_table_cells_and_shapes_that_cannot_be_read(tmp_path):
    write_csv(tmp_path / "t.csv", [[1, "x"], [2, "y"]], ["a", "b"])
    with pytest.raises(ArrayDataError, match=r"line 2, column 1 \('b'\): 'x' is not a number .*DATA.label_column"):
        load_array(str(tmp_path / "t.csv"))
    with pytest.raises(ArrayDataError, match="DATA.label_column='c' is not a column .* a, b"):
        load_array(str(tmp_path / "t.csv"), label_column="c")
    np.save(tmp_path / "nhwc.npy", np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ArrayDataError, match=r"looks like N x H x W x C.*transpose\(x, \(0, 3, 1, 2\)\)"):
        load_array(str(tmp_path / "nhwc.npy"))
    np.save(tmp_path / "five.npy", np.zeros((2, 1, 1, 1, 1)))
    with pytest.raises(ArrayDataError, match="has 5 axes"):
        load_array(str(tmp_path / "five.npy"))
    np.save(tmp_path / "v.npy", np.zeros((4, 2)))
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(ArrayDataError, match="has 3 labels but .* has 4 samples"):
        load_array(str(tmp_path / "v.npy"), label_path=str(tmp_path / "y.npy"))


def test_folder_labels_come_from_subfolders_only(grey_folder):
    folder, _ = grey_folder
    cfg = custom_cfg(f"DATA.data_path={folder}", "DATA.label_column=0")
    with pytest.raises(common.ConfigError, match="DATA.label_column=0 is not valid for a folder of images"):
        custom.load_data(str(folder), custom.read_options(cfg))


def test_conditional_true_needs_labels(tmp_path):
    np.save(tmp_path / "v.npy", RNG.normal(size=(20, 3)))
    cfg = custom_cfg(f"DATA.data_path={tmp_path}/v.npy", "MODEL.conditional=true",
                     f"output_dir={tmp_path}/run")
    custom.check_config(cfg)
    with pytest.raises(common.ConfigError, match="MODEL.conditional=true needs labels"):
        custom.train(cfg)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["DATA.image_size=48"], "DATA.image_size=48 is not valid: null or one of 32, 64"),
        (["DATA.holdout_fraction=0.9"], "DATA.holdout_fraction=0.9 is not valid"),
        (["MODEL.conditional=maybe"], "MODEL.conditional='maybe' is not valid: auto, true or false"),
        (["+MODEL.vectors.generator.data_dim=3"], "MODEL.vectors.generator.data_dim=3 is not valid: unset"),
        (["+DATA.lable_column=x"], "unknown config key DATA.lable_column"),
        (["DATA.data_path=null"], "DATA.data_path is required for mode=train"),
        (["mode=eval"], "EVAL.pretrained_gen_model_path is required for mode=eval"),
    ],
)
def test_bad_config_values_are_named(tmp_path, overrides, message):
    np.save(tmp_path / "v.npy", RNG.normal(size=(20, 3)))
    cfg = custom_cfg(f"DATA.data_path={tmp_path}/v.npy", f"output_dir={tmp_path}/run", *overrides)
    with pytest.raises(common.ConfigError) as info:
        custom.check_config(cfg)
    assert message in str(info.value)


def test_recipe_follows_the_kind_of_data(tmp_path):
    np.save(tmp_path / "v.npy", RNG.normal(size=(20, 3)))
    np.save(tmp_path / "x.npy", np.zeros((4, 32, 32), np.uint8))
    vectors = custom_cfg(f"DATA.data_path={tmp_path}/v.npy")
    images = custom_cfg(f"DATA.data_path={tmp_path}/x.npy", "TRAIN.n_critic=3")
    custom.check_config(vectors)
    custom.check_config(images)
    assert vectors.DATA.kind == "vectors" and vectors.MODEL.generator.name == "ToyGenerator"
    assert images.MODEL.generator.name == "ResNet32Generator" and images.LOSS.penalty_weight == 10
    assert images.TRAIN.optimizer.beta1 == 0 and images.TRAIN.n_critic == 3  # the command line wins
    assert vectors.TRAIN.ema.use_ema and not images.TRAIN.ema.use_ema


# ------------------------------------------------------------ training + eval


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory):
    """A 5-column csv table (one column around 1000, one tiny) with a label column,
    trained for 4 iterations."""
    folder = tmp_path_factory.mktemp("vectors")
    values = RNG.normal([1000.0, 0.0, 5.0, -2.0, 0.001], [50.0, 1.0, 2.0, 0.5, 0.0002], size=(60, 5))
    kinds = np.where(values[:, 1] > 0, "high", "low")
    rows = [list(map(float, v[:2])) + [k] + list(map(float, v[2:])) for v, k in zip(values, kinds)]
    write_csv(folder / "table.csv", rows, ["mass", "charge", "phase", "t", "p", "q"])
    out = folder / "run"
    solver = run(f"DATA.data_path={folder}/table.csv", "DATA.label_column=phase", f"output_dir={out}",
                 *SHORT)
    return folder, out, solver


def test_vector_form_trains_and_evaluates_in_its_units(vector_run):
    folder, out, solver = vector_run
    assert solver.global_step == 4 and solver.critic_arch.num_classes == 2
    record = json.loads((out / custom.SCALING_FILE).read_text())
    assert record["kind"] == "vectors" and record["sample_shape"] == [5]
    assert record["class_names"] == ["high", "low"] and record["source"]["label_column"] == 2
    assert sum(record["class_counts"]) == 54
    assert record["holdout"]["num_holdout"] == 6 and record["holdout"]["num_train"] == 54
    assert abs(record["scaling"]["offset"][0] - 1000) < 30
    # the same record travels inside the resumable checkpoint
    state = paddle.load(str(out / "checkpoints" / "latest.pdckpt"))
    assert state["extra"]["data_scaling"] == record
    metrics = run("mode=eval", f"output_dir={out}/eval", *SHORT_EVAL,
                  f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams",
                  f"EVAL.pretrained_dis_model_path={out}/model_discriminator.pdparams")
    for key in ("sliced_w1", "sliced_w1_train", "sliced_w1_gaussian", "max_abs_mean_error_in_std",
                "correlation_error", "nn_distance_generated_to_train", "wasserstein_estimate",
                "critic_score_train"):
        assert np.isfinite(metrics[key]), key
    assert 0 <= metrics["critic_accuracy_real"] <= 1 and 0 <= metrics["critic_accuracy_fake"] <= 1
    assert len(metrics["mean"]["real"]) == 5 and "6 held-out rows" in metrics["reference"]
    assert set(metrics["sliced_w1_per_class"]) <= {"high", "low"}
    with open(out / "eval" / "samples.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["mass", "charge", "phase", "t", "p", "q"] and len(rows) == 41
    assert {r[2] for r in rows[1:]} == {"high", "low"}
    generated = np.array([[float(c) for i, c in enumerate(r) if i != 2] for r in rows[1:]])
    # back in the data's units: the mass column sits near 1000, the tiny one near 0.001
    assert 700 < generated[:, 0].mean() < 1300 and abs(generated[:, 4].mean() - 0.001) < 0.005
    assert (out / "eval" / "samples.png").is_file() and (out / "eval" / "marginals.png").is_file()


def test_vector_export_and_infer_write_data_units(vector_run):
    _, out, _ = vector_run
    run("mode=export", f"output_dir={out}", *SHORT_EVAL,
        f"INFER.pretrained_model_path={out}/model_generator.pdparams")
    assert (out / "inference" / custom.SCALING_FILE).is_file()
    samples = run("mode=infer", f"output_dir={out}", *SHORT_EVAL)
    assert samples.shape == (6, 5) and 700 < samples[:, 0].mean() < 1300
    assert len((out / "infer_samples.csv").read_text().splitlines()) == 7


def test_vectors_scored_during_training(tmp_path):
    np.save(tmp_path / "v.npy", RNG.normal(size=(40, 3)))
    solver = run(f"DATA.data_path={tmp_path}/v.npy", f"output_dir={tmp_path}/run", *SHORT,
                 "TRAIN.eval_during_train=true", "TRAIN.eval_freq=1")
    metrics = solver.evaluate_generator()
    assert np.isfinite(float(metrics["samples"]["sliced_w1"]))


def test_table_of_another_width_is_refused(vector_run):
    folder, out, _ = vector_run
    narrow = [[float(a), float(b), "low", float(c), float(d)] for a, b, c, d in RNG.normal(size=(30, 4))]
    write_csv(folder / "narrow.csv", narrow, ["a", "b", "phase", "c", "d"])
    with pytest.raises(common.ConfigError) as info:
        run("mode=eval", f"output_dir={out}/eval_narrow", *SHORT_EVAL, f"DATA.data_path={folder}/narrow.csv",
            f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams")
    assert "has 4 columns, but the generator weights were trained on 5 columns" in str(info.value)
    with pytest.raises(common.ConfigError) as info:
        run(f"DATA.data_path={folder}/narrow.csv", "DATA.label_column=phase", f"output_dir={folder}/resumed",
            *SHORT,
            f"TRAIN.checkpoint_path={out}/checkpoints/latest.pdckpt")
    assert "produce 5 columns, but the data has 4 columns" in str(info.value)


def test_image_form_trains_and_evaluates(tmp_path):
    """AC-WGAN-GP on an .npz of 1-channel images with labels; the FID is reported as
    not computed (empty weights cache) with the file and the fetch command."""
    images = RNG.integers(0, 256, (12, 1, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "cells.npz", images=images, labels=np.repeat([7, 9], 6))
    out = tmp_path / "run"
    solver = run(f"DATA.data_path={tmp_path}/cells.npz", f"output_dir={out}", *SHORT)
    assert solver.global_step == 4 and solver.generator_arch.sample_shape == (1, 32, 32)
    record = json.loads((out / custom.SCALING_FILE).read_text())
    assert record["scaling"]["offset"] == [127.5] and record["dequantize"]
    assert record["class_names"] == [7, 9] and record["source"]["array_key"] == "images"
    metrics = run("mode=eval", f"output_dir={out}/eval", *SHORT_EVAL, f"EVAL.cache_dir={tmp_path}/no_cache",
                  f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams")
    assert metrics["FID"] is None
    why = metrics["not_computed"]["FID"]
    assert "fid_inception_v3_pool3.pdparams" in why and "python -m ppsci_ext.metric.inception --fetch" in why
    samples = np.load(out / "eval" / "samples.npz")
    assert samples["images"].shape == (40, 1, 32, 32) and samples["images"].dtype == np.uint8
    assert set(samples["labels"].tolist()) == {7, 9}
    grid = Image.open(out / "eval" / "samples.png")
    assert grid.mode == "L" and grid.size == (10 * 34 + 2, 2 * 34 + 2)  # a row per class


def test_two_field_arrays_come_back_in_their_units(tmp_path):
    """Float fields on a grid (2 channels of different units, N x C x H x W): samples
    within each channel's range, no FID (not 1 or 3 channels), export and infer."""
    fields = np.stack([RNG.normal(300.0, 5.0, (8, 32, 32)), RNG.normal(0.0, 1e-3, (8, 32, 32))], axis=1)
    np.save(tmp_path / "fields.npy", fields.astype(np.float32))
    out = tmp_path / "run"
    run(f"DATA.data_path={tmp_path}/fields.npy", f"output_dir={out}", *SHORT)
    record = json.loads((out / custom.SCALING_FILE).read_text())
    assert record["sample_shape"] == [2, 32, 32] and record["networks"]["generator"]["channels"] == 2
    metrics = run("mode=eval", f"output_dir={out}/eval", *SHORT_EVAL,
                  f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams")
    assert "1 or 3 channels" in metrics["not_computed"]["FID"]
    samples = np.load(out / "eval" / "samples.npy")
    assert samples.shape == (40, 2, 32, 32) and samples.dtype == np.float32
    for c in range(2):
        lo, hi = fields[:, c].min(), fields[:, c].max()
        assert lo - 1e-3 <= samples[:, c].min() and samples[:, c].max() <= hi + 1e-3
    run("mode=export", f"output_dir={out}", *SHORT_EVAL,
        f"INFER.pretrained_model_path={out}/model_generator.pdparams")
    drawn = run("mode=infer", f"output_dir={out}", *SHORT_EVAL)
    assert drawn.shape == (6, 2, 32, 32) and 290 < drawn[:, 0].mean() < 310
    assert np.load(out / "infer_samples.npy").shape == (6, 2, 32, 32)
    assert (out / "infer_samples.png").is_file()


@pytest.mark.slow  # two entry-point processes (train, eval): about 27 s
def test_png_folder_through_the_entry_point(tmp_path):
    """The entry point on a folder with class subfolders: samples come back as PNG
    files in class subfolders."""
    for name in ("a", "b"):
        for i in range(4):
            save_png(tmp_path / "data" / name / f"{i}.png", RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    out = tmp_path / "run"
    done = run_entry(SCRIPT, f"DATA.data_path={tmp_path}/data", f"output_dir={out}", *SHORT)
    assert done.returncode == 0, done.stderr[-3000:]
    done = run_entry(SCRIPT, "mode=eval", f"output_dir={out}/eval", *SHORT_EVAL, "EVAL.num_samples=4",
                     f"EVAL.cache_dir={tmp_path}/no_cache",
                     f"EVAL.pretrained_gen_model_path={out}/model_generator.pdparams")
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(p.relative_to(out / "eval" / "samples").as_posix()
                     for p in (out / "eval" / "samples").rglob("*.png"))
    # the classes in the training data's proportions (here 4 and 4), numbered in draw order
    assert [w.split("/")[0] for w in written] == ["a", "a", "b", "b"]
    assert sorted(w.split("/")[1] for w in written) == [f"{i:05d}.png" for i in range(4)]
    assert Image.open(out / "eval" / "samples" / written[0]).mode == "RGB"


@pytest.mark.slow  # an entry-point process: about 13 s
def test_entry_point_reports_data_errors_in_one_line(tmp_path):
    write_csv(tmp_path / "t.csv", [[1, 2], [3, "inf"]] * 10, ["a", "b"])
    done = run_entry(SCRIPT, f"DATA.data_path={tmp_path}/t.csv", f"output_dir={tmp_path}/run", *SHORT)
    assert done.returncode == 2
    assert "holds 10 non-finite values" in done.stderr and "Traceback" not in done.stderr
