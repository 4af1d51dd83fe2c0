"""CIFAR-10 parts: the paper's ResNet generator and critic, the CIFAR-10 loader and
pixel scaling, and reading PaddleScience's CIFAR-10 checkpoints."""

import io
import json
import os
import pickle
import struct
import tarfile

import numpy as np
import paddle
import pytest
from paddle import nn

from ppsci_ext.arch import ResNet32Critic
from ppsci_ext.arch import ResNet32Generator
from ppsci_ext.arch import resnet32
from ppsci_ext.compat import paddlescience_cifar10 as ps_cifar10
from ppsci_ext.data import cifar10
from ppsci_ext.solver.checkpoint import CheckpointError
from ppsci_ext.solver.checkpoint import load_state_dict_strict

# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("num_classes", [0, 10])
def test_generator_shapes_and_range(num_classes):
    paddle.seed(0)
    gen = ResNet32Generator(num_classes=num_classes)
    assert gen.noise_dim == 128 and gen.sample_shape == (3, 32, 32)
    assert gen.is_conditional == (num_classes > 0)
    inputs = {"z": paddle.randn([4, 128])}
    if num_classes:
        assert gen.input_keys == ("z", "label")
        inputs["label"] = paddle.to_tensor([0, 3, 9, 3])
    else:
        assert gen.input_keys == ("z",)
    for mode in (gen.train, gen.eval):
        mode()
        x = gen(inputs)["x"].numpy()
        assert x.shape == (4, 3, 32, 32)
        assert np.isfinite(x).all() and np.abs(x).max() <= 1.0
    norms = [l for l in gen.sublayers() if isinstance(l, resnet32.ConditionalBatchNorm2D)]
    assert len(norms) == (6 if num_classes else 0)
    # the official conditional batch norm keeps no running statistics
    assert all(sorted(n.state_dict()) == ["offset", "scale"] for n in norms)


@pytest.mark.parametrize("num_classes", [0, 10])
def test_critic_shapes(num_classes):
    critic = ResNet32Critic(num_classes=num_classes)
    x = paddle.randn([3, 3, 32, 32])
    out = critic({"x": x})
    assert list(out["score"].shape) == [3, 1]
    if num_classes:
        assert critic.output_keys == ("score", "logits")
        assert list(out["logits"].shape) == [3, 10]
    else:
        assert critic.output_keys == ("score",)
    flat = critic({"x": x.reshape([3, -1])})["score"]
    np.testing.assert_allclose(flat.numpy(), out["score"].numpy(), rtol=1e-6, atol=1e-6)


def test_image_size_64():
    gen = ResNet32Generator(dim=8, num_classes=10, image_size=64)
    critic = ResNet32Critic(dim=8, num_classes=10, image_size=64)
    x = gen({"z": paddle.randn([2, 128]), "label": paddle.to_tensor([1, 2])})["x"]
    assert list(x.shape) == [2, 3, 64, 64] and gen.sample_shape == (3, 64, 64)
    out = critic({"x": x})
    assert list(out["score"].shape) == [2, 1] and list(out["logits"].shape) == [2, 10]
    with pytest.raises(ValueError, match="image_size"):
        ResNet32Generator(image_size=48)


def test_critic_has_no_normalisation():
    norm_types = (
        nn.BatchNorm, nn.BatchNorm1D, nn.BatchNorm2D, nn.BatchNorm3D, nn.SyncBatchNorm,
        nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1D, nn.InstanceNorm2D, nn.InstanceNorm3D,
        nn.LocalResponseNorm, resnet32.ConditionalBatchNorm2D, resnet32.ScalarRunningNorm,
    )  # fmt: skip
    for num_classes in (0, 10):
        critic = ResNet32Critic(dim=16, num_classes=num_classes)
        found = [type(l).__name__ for l in critic.sublayers() if isinstance(l, norm_types)]
        assert found == []
        # Each sample's score depends on that sample only, in train mode too.
        critic.train()
        x = paddle.randn([6, 3, 32, 32])
        whole = critic({"x": x})["score"].numpy()
        part = critic({"x": x[:2]})["score"].numpy()
        np.testing.assert_allclose(part, whole[:2], rtol=1e-5, atol=1e-6)


def test_nearest_neighbour_upsampling_is_true_nn():
    x = paddle.randn([2, 5, 3, 4])
    y = resnet32.upsample_nearest(x).numpy()
    assert y.shape == (2, 5, 6, 8)
    xn = x.numpy()
    for a in (0, 1):
        for b in (0, 1):  # every pixel of each output 2x2 block is the input pixel
            np.testing.assert_array_equal(y[:, :, a::2, b::2], xn)
    gen = ResNet32Generator(dim=8)
    assert all(block.upsample is resnet32.upsample_nearest for block in gen.blocks)
    # PaddleScience's tiled PixelShuffle mixes channels: output channel 0 reads
    # input channels 0 and 1 (4c + 2a + b mod C), so it is not upsampling.
    t = resnet32.upsample_tiled_pixel_shuffle(x).numpy()
    np.testing.assert_array_equal(t[:, 0, 0::2, 1::2], xn[:, 1])
    assert not np.array_equal(t, y)


def test_up_block_follows_official_order():
    paddle.seed(1)
    block = ResNet32Generator(dim=4).blocks[0]
    block.eval()
    x = paddle.randn([2, 4, 3, 3])
    up = resnet32.upsample_nearest
    relu = nn.functional.relu
    h = block.conv1(up(relu(block.norm1(x))))
    expected = block.shortcut(up(x)) + block.conv2(relu(block.norm2(h)))
    np.testing.assert_allclose(block(x, None).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_conditional_batch_norm_uses_batch_moments_and_class_rows():
    norm = resnet32.ConditionalBatchNorm2D(3, 2)
    rng = np.random.default_rng(0)
    norm.scale.set_value(rng.normal(size=(3, 2)).astype("float32"))
    norm.offset.set_value(rng.normal(size=(3, 2)).astype("float32"))
    x = rng.normal(2.0, 3.0, size=(4, 2, 3, 3)).astype("float32")
    labels = np.array([2, 0, 1, 2])
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * norm.scale.numpy()[labels][:, :, None, None]
    expected += norm.offset.numpy()[labels][:, :, None, None]
    for mode in (norm.train, norm.eval):  # as the official layer: no running statistics
        mode()
        out = norm(paddle.to_tensor(x), paddle.to_tensor(labels)).numpy()
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- loader


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING opcodes), as the real CIFAR-10
    files do: loaded with encoding="bytes" they give bytes, with "latin1" str."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Python2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


# How each batch file is written: Python 2 style (bytes keys), Python 3 protocol 2
# with str keys, Python 3 newest protocol with bytes keys.
_WRITERS = {
    "data_batch_1": "py2",
    "data_batch_2": "str_keys",
    "data_batch_3": "bytes_keys",
    "data_batch_4": "py2",
    "data_batch_5": "str_keys",
    "test_batch": "py2",
}


def _batch_bytes(kind: str, data: np.ndarray, labels: list) -> bytes:
    if kind == "py2":
        return _py2_pickle({b"batch_label": b"x", b"labels": labels, b"data": data})
    if kind == "str_keys":
        return pickle.dumps({"batch_label": "x", "labels": labels, "data": data}, protocol=2)
    return pickle.dumps({b"labels": labels, b"data": data}, protocol=pickle.HIGHEST_PROTOCOL)


def _add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


@pytest.fixture(scope="module")
def cifar_tar(tmp_path_factory):
    """A small archive in the cifar-10-python.tar.gz layout; returns its path and
    the expected (data, labels) of each batch file."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("cifar")
    path = folder / "cifar-10-python.tar.gz"
    expected, payloads = {}, {}
    for i, (name, kind) in enumerate(_WRITERS.items()):
        n = 2 + i % 3
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        expected[name] = (data, np.array(labels, dtype=np.int64))
        payloads[name] = _batch_bytes(kind, data, labels)
    meta = _py2_pickle({b"label_names": [c.encode() for c in cifar10.CIFAR10_CLASSES],
                        b"num_cases_per_batch": 10000, b"num_vis": 3072})
    with tarfile.open(path, "w:gz") as tar:
        dir_info = tarfile.TarInfo("cifar-10-batches-py")
        dir_info.type = tarfile.DIRTYPE
        tar.addfile(dir_info)
        # the real archive is not in numerical order either
        for name in ("data_batch_4", "test_batch", "data_batch_3", "data_batch_2",
                     "data_batch_5", "data_batch_1"):
            _add(tar, f"cifar-10-batches-py/{name}", payloads[name])
            if name == "test_batch":
                _add(tar, "cifar-10-batches-py/batches.meta", meta)
                _add(tar, "cifar-10-batches-py/readme.html", b"<html></html>")
    return path, expected


def _expected_split(expected, split):
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    return (np.concatenate([expected[n][0] for n in names]),
            np.concatenate([expected[n][1] for n in names]))


def test_test_pickles_exercise_both_key_types(cifar_tar):
    path, _ = cifar_tar
    with tarfile.open(path) as tar:
        def keys(name, encoding):
            raw = tar.extractfile(f"cifar-10-batches-py/{name}").read()
            return {type(k) for k in pickle.loads(raw, encoding=encoding)}

        assert keys("data_batch_1", "bytes") == {bytes}
        assert keys("data_batch_1", "latin1") == {str}  # a true Python 2 str key
        assert keys("data_batch_2", "bytes") == {str}
        assert keys("data_batch_3", "latin1") == {bytes}


@pytest.mark.parametrize("split", ["train", "test"])
def test_load_from_tarball(cifar_tar, split):
    path, expected = cifar_tar
    images, labels = cifar10.load_cifar10(path, split)
    data, want_labels = _expected_split(expected, split)
    assert images.dtype == np.uint8 and images.shape == (len(data), 3, 32, 32)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(images.reshape(len(data), -1), data)
    # R, G, B planes of 32 x 32, rows top to bottom
    n, c, r, col = 1, 2, 5, 7
    assert images[n, c, r, col] == data[n, c * 1024 + r * 32 + col]
    # the loader extracts nothing
    assert sorted(os.listdir(path.parent)) == ["cifar-10-python.tar.gz"]


def test_written_archive_reads_back_unchanged(tmp_path):
    rng = np.random.default_rng(3)
    # 7 training images: batches of 2, 2, 1, 1, 1 (every batch file exists)
    train = rng.integers(0, 256, (7, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, 7)
    test = rng.integers(0, 256, (3, 3072), dtype=np.uint8), [9, 0, 4]
    path = cifar10.write_cifar10(tmp_path / "cifar-10-python.tar.gz", train, test)
    images, labels = cifar10.load_cifar10(path, "train")
    np.testing.assert_array_equal(images, train[0])
    np.testing.assert_array_equal(labels, train[1])
    images, labels = cifar10.load_cifar10(tmp_path, "test")
    np.testing.assert_array_equal(images.reshape(3, -1), test[0])
    assert labels.tolist() == [9, 0, 4]
    with tarfile.open(path) as tar:
        sizes = [len(pickle.loads(tar.extractfile(f"cifar-10-batches-py/data_batch_{i}").read(),
                                  encoding="bytes")[b"labels"]) for i in range(1, 6)]
        meta = pickle.loads(tar.extractfile("cifar-10-batches-py/batches.meta").read(), encoding="bytes")
    assert sizes == [2, 2, 1, 1, 1]
    assert meta[b"label_names"][0] == b"airplane"
    with pytest.raises(ValueError, match="train: 7 images but 6 labels"):
        cifar10.write_cifar10(tmp_path / "bad.tar.gz", (train[0], train[1][:6]), test)


def test_load_from_extracted_folder(cifar_tar, tmp_path):
    path, expected = cifar_tar
    with tarfile.open(path) as tar:
        tar.extractall(tmp_path)
    data, want_labels = _expected_split(expected, "train")
    for where in (tmp_path / "cifar-10-batches-py", tmp_path, str(tmp_path)):
        images, labels = cifar10.load_cifar10(where, "train")
        np.testing.assert_array_equal(images.reshape(len(data), -1), data)
        np.testing.assert_array_equal(labels, want_labels)
    # a folder that holds the archive
    images, _ = cifar10.load_cifar10(path.parent, "test")
    np.testing.assert_array_equal(images.reshape(len(images), -1), expected["test_batch"][0])


@pytest.mark.parametrize("damage", ["half", "tail", "flipped_byte"])
def test_truncated_or_damaged_tar_is_refused(cifar_tar, tmp_path, damage):
    raw = bytearray(cifar_tar[0].read_bytes())
    if damage == "half":
        raw = raw[: len(raw) // 2]
    elif damage == "tail":  # every member whole, the gzip trailer gone
        raw = raw[:-40]
    else:
        raw[len(raw) // 2] ^= 0xFF
    bad = tmp_path / "cifar-10-python.tar.gz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(cifar10.Cifar10Error, match="truncated|damaged") as err:
        cifar10.load_cifar10(bad)
    assert cifar10.CIFAR10_URL in str(err.value)


def test_foreign_files_are_refused(tmp_path):
    foreign = tmp_path / "other.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        _add(tar, "mnist/train-images-idx3-ubyte", b"\0" * 64)
    with pytest.raises(cifar10.Cifar10Error, match="data_batch_1") as err:
        cifar10.load_cifar10(foreign)
    assert cifar10.CIFAR10_URL in str(err.value)

    not_tar = tmp_path / "noise.bin"
    not_tar.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(cifar10.Cifar10Error, match=cifar10.CIFAR10_URL.replace(".", r"\.")):
        cifar10.load_cifar10(not_tar)

    # right names, but a pickle that would run code: refused before anything runs
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        _add(tar, "cifar-10-batches-py/test_batch", pickle.dumps(os.getcwd, protocol=2))
    with pytest.raises(cifar10.Cifar10Error, match="refers to"):
        cifar10.load_cifar10(evil, "test")

    # right names, wrong content
    wrong = tmp_path / "wrong.tar.gz"
    with tarfile.open(wrong, "w:gz") as tar:
        _add(tar, "cifar-10-batches-py/test_batch",
             pickle.dumps({"data": np.zeros((2, 784), np.uint8), "labels": [0, 1]}))
    with pytest.raises(cifar10.Cifar10Error, match="3072"):
        cifar10.load_cifar10(wrong, "test")


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz") as err:
        cifar10.load_cifar10(tmp_path / "nowhere.tar.gz")
    assert cifar10.CIFAR10_URL in str(err.value)
    with pytest.raises(FileNotFoundError, match="kriz"):
        cifar10.load_cifar10(tmp_path)  # an empty folder
    with pytest.raises(ValueError, match="split"):
        cifar10.load_cifar10(tmp_path, "valid")


def test_scaling_and_dequantisation():
    levels = np.arange(256, dtype=np.uint8)
    plain = cifar10.to_model_range(levels, dequantize=False)
    assert plain.dtype == np.float32
    np.testing.assert_array_equal(plain, (levels / 256.0 - 0.5) * 2)

    images = np.tile(levels, (40, 1)).reshape(40, 256)
    out = cifar10.to_model_range(images, rng=np.random.default_rng(0))
    assert out.dtype == np.float32 and out.shape == images.shape
    noise = out - plain[None, :]
    assert noise.min() >= -1e-6 and noise.max() <= 1 / 128 + 1e-6
    assert noise.mean() == pytest.approx(1 / 256, rel=0.05)  # U(0, 1/128)
    assert out.min() >= -1.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, cifar10.to_model_range(images, rng=0))

    paddle.seed(0)
    batch = paddle.to_tensor(images, dtype="uint8")
    x = cifar10.dequantize_batch(batch)
    assert x.dtype == paddle.float32
    diff = x.numpy() - plain[None, :]
    assert diff.min() >= -1e-6 and diff.max() <= 1 / 128 + 1e-6


# --------------------------------------------------------------------------- PaddleScience


@pytest.mark.parametrize(
    "layout, num_classes",
    [("cifar10_generator_unconditional", 0), ("cifar10_generator_conditional", 10)],
)
def test_paddlescience_golden_outputs(fixtures_dir, layout, num_classes):
    golden = fixtures_dir / "paddlescience_golden"
    state = paddle.load(str(golden / f"{layout}.pdparams"))
    ref = np.load(golden / f"{layout}.npz")
    model = ResNet32Generator(num_classes=num_classes)
    model.eval()
    network, renamed, name = ps_cifar10.adapt(state, model)
    assert name == layout and network.variant == "paddlescience" and model.variant == "paper"
    assert not network.training
    load_state_dict_strict(network, renamed, layout)
    inputs = {"z": paddle.to_tensor(ref["noise"])}
    if num_classes:
        inputs["label"] = paddle.to_tensor(ref["labels"])
    out = network(inputs)["x"].numpy()
    assert out.shape == ref["output"].shape == (8, 3, 32, 32)
    assert np.abs(out - ref["output"]).max() < 1e-5
    # the paper's network with the same weights draws other images
    if not num_classes:
        model.set_state_dict(renamed)
        assert np.abs(model(inputs)["x"].numpy() - ref["output"]).max() > 0.1


def test_paddlescience_critic_layout_loads(fixtures_dir):
    shapes = json.loads((fixtures_dir / "paddlescience_state_dict_layout.json").read_text())
    state = {k: paddle.randn(v) for k, v in shapes["cifar10_critic"].items()}
    for num_classes in (0, 10):
        network, renamed, name = ps_cifar10.adapt(state, ResNet32Critic(num_classes=num_classes))
        assert name == "cifar10_critic"
        load_state_dict_strict(network, renamed, name)
        norms = [l for l in network.sublayers() if isinstance(l, resnet32.ScalarRunningNorm)]
        assert len(norms) == 6
        network.eval()
        out = network({"x": paddle.randn([2, 3, 32, 32])})
        assert list(out["score"].shape) == [2, 1]
        assert ("logits" in out) == (num_classes > 0)


def test_paddlescience_layouts_are_recognised_only_whole(fixtures_dir):
    gen = ResNet32Generator()
    # our own layout and partial / foreign ones are not PaddleScience's
    assert ps_cifar10.adapt(gen.state_dict(), gen) is None
    shapes = json.loads((fixtures_dir / "paddlescience_state_dict_layout.json").read_text())
    state = {k: np.zeros(v, "float32") for k, v in shapes["cifar10_generator_unconditional"].items()}
    partial = dict(state)
    partial.pop("generator.conv.bias")
    assert ps_cifar10.adapt(partial, gen) is None
    assert ps_cifar10.adapt(state, ResNet32Critic()) is None  # generator file for a critic
    toy = {k: np.zeros(v, "float32") for k, v in shapes["toy_generator"].items()}
    assert ps_cifar10.adapt(toy, gen) is None
    with pytest.raises(CheckpointError, match="num_classes"):
        ps_cifar10.adapt(state, ResNet32Generator(num_classes=10))
    # a layout whose names fit but whose shapes do not is refused by the strict loader
    network, renamed, _ = ps_cifar10.adapt(state, ResNet32Generator(dim=64))
    with pytest.raises(CheckpointError, match="shape differs"):
        load_state_dict_strict(network, renamed, "file")
