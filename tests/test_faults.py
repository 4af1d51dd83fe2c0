"""Faults and bad input, one parametrised case each, grouped by kind.

Every test function is named ``test_<kind>__<what>``; its parameters are the cases
of that kind it tries (``test_no_fault__*`` checks good input and is not counted).
``python tests/test_faults.py`` prints how many cases of each kind there are (fast
and slow), which is what the README's "Reliability" section states. Each case
asserts what the user sees (one message naming the key, the file or the folder) and
what is left on disk (the previous files whole, no partial file).
"""

import ppsci_ext  # noqa: F401  (first, also when run as a script: Paddle's CPU settings)

import errno
import gzip
import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import paddle
import pytest
from hydra import compose
from hydra import initialize_config_dir

from conftest import REPO
from conftest import run_entry
from ppsci_ext.arch import MnistGenerator
from ppsci_ext.arch import ResNet32Generator
from ppsci_ext.arch import ToyCritic
from ppsci_ext.arch import ToyGenerator
from ppsci_ext.experiments import cifar10
from ppsci_ext.experiments import common
from ppsci_ext.experiments import mnist
from ppsci_ext.experiments import toy
from ppsci_ext.solver import NonFiniteLossError
from ppsci_ext.solver import WGANSolver
from ppsci_ext.solver import checkpoint as ckpt
from ppsci_ext.solver import wgan_solver

#: Kinds of fault, by the ``<kind>`` of the test names.
KINDS = {
    "config_typo": "config typo (unknown or missing key)",
    "wrong_type": "wrong type",
    "out_of_range": "value out of range (incl. image sizes the networks do not fit)",
    "truncated": "truncated checkpoint or weights",
    "corrupted": "corrupted checkpoint or weights",
    "other_model": "checkpoint or weights of a different model",
    "missing_file": "missing file",
    "unwritable_dir": "unwritable output_dir",
    "disk_full": "disk full or write error while saving",
    "nonfinite_loss": "non-finite loss",
    "nonfinite_data": "non-finite data",
    "existing_run": "existing run in output_dir",
    "killed": "process killed (during a save or training)",
}

EXPERIMENTS = {"toy": (toy, "wgangp_toy.yaml"), "mnist": (mnist, "wgangp_mnist.yaml"),
               "cifar10": (cifar10, "wgangp_cifar10.yaml")}
TOY_SCRIPT = REPO / "examples" / "wgangp" / "wgangp_toy.py"
#: A toy run of 2 epochs x 2 iterations with tiny networks (well under a second).
TINY = ["TRAIN.epochs=2", "TRAIN.iters_per_epoch=2", "TRAIN.save_freq=1", "log_freq=100",
        "MODEL.generator.hidden_dim=16", "MODEL.critic.hidden_dim=16", "DATA.num_train_samples=300",
        "TRAIN.batch_size.critic=32", "TRAIN.batch_size.generator=32", "EVAL.num_samples=100",
        "INFER.num_samples=50"]


def compose_cfg(experiment, *overrides, conf=REPO / "conf"):
    with initialize_config_dir(config_dir=str(conf), version_base=None):
        return compose(EXPERIMENTS[experiment][1], overrides=list(overrides))


def toy_cfg(out, *overrides):
    return compose_cfg("toy", *TINY, f"output_dir={out}", *overrides)


def check(experiment, *overrides):
    """Compose and check a config; return the ConfigError message."""
    module = EXPERIMENTS[experiment][0]
    cfg = compose_cfg(experiment, "output_dir=/nonexistent/unused", *overrides)
    with pytest.raises(common.ConfigError) as info:
        module.check_config(cfg)
    return str(info.value)


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def temp_files(folder):
    return [f for f in files_under(folder) if ".tmp" in f]


def digest(path):
    return Path(path).read_bytes()


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A finished tiny toy run (checkpoint and final weights); copy, never modify."""
    out = tmp_path_factory.mktemp("toy_run")
    cfg = toy_cfg(out)
    toy.check_config(cfg)
    toy.train(cfg)
    return out


def copy_run(src, dst):
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


# ------------------------------------------------------------------ config typo


@pytest.mark.parametrize("experiment, preset", [
    ("toy", None), ("toy", "toy_official"), ("toy", "toy_wgan_clip"), ("mnist", None),
    ("mnist", "mnist_official"), ("cifar10", None), ("cifar10", "10 classes"),
])
def test_no_fault__shipped_configs_pass_every_check(experiment, preset):
    """The key schemas know every key the shipped configs and presets set (not a
    fault case: it guards the checks against refusing good configs)."""
    extra = ["MODEL.num_classes=10"] if preset == "10 classes" else [f"preset={preset}"] if preset else []
    EXPERIMENTS[experiment][0].check_config(compose_cfg(experiment, "output_dir=/unused", *extra))



@pytest.mark.parametrize(
    "experiment, override, suggestion",
    [
        ("toy", "+TRAIN.n_critc=5", "TRAIN.n_critic"),
        ("mnist", "+TRAIN.n_critc=5", "TRAIN.n_critic"),
        ("cifar10", "+TRAIN.n_critc=5", "TRAIN.n_critic"),
        ("toy", "+LOSS.penalty_wieght=1", "LOSS.penalty_weight"),
        ("toy", "+TRAIN.penalty_weight=1", "LOSS.penalty_weight"),  # right key, wrong section
        ("toy", "+MODEL.generator.hiden_dim=64", "MODEL.generator.hidden_dim"),
        ("cifar10", "+MODEL.critic.dimm=64", "MODEL.critic.dim"),
        ("toy", "+TRAIN.ema.decy=0.5", "TRAIN.ema.decay"),
        ("mnist", "+EVAL.num_sample=10", "EVAL.num_samples"),
        ("toy", "+DATA.mod=swissroll", "DATA.mode"),
        ("toy", "+sed=1", "seed"),
        ("cifar10", "+LOSS.critic_class_wieght=1", "LOSS.critic_class_weight"),
        ("toy", "+TRAIN.optimizer.lr=0.1", "TRAIN.optimizer"),
        ("toy", "MODEL.generator.name=ToyGenrator", "ToyGenerator"),
    ],
)
def test_config_typo__unknown_key_is_named_with_close_matches(experiment, override, suggestion):
    message = check(experiment, override)
    key = override.lstrip("+").split("=")[0]
    assert key in message and suggestion in message, message
    assert "\n" not in message  # one key, one line


def test_config_typo__several_unknown_keys_in_one_message():
    message = check("toy", "+TRAIN.n_critc=5", "+LOSS.lamda=3")
    assert "TRAIN.n_critc (=5): did you mean TRAIN.n_critic?" in message
    assert "LOSS.lamda (=3): the keys of LOSS are clip_value, name, penalty_interval, penalty_weight" in message


def _edited_conf(tmp_path, edit):
    conf = Path(shutil.copytree(REPO / "conf", tmp_path / "conf"))
    path = conf / "wgangp_toy.yaml"
    text = path.read_text()
    if edit == "misspelt":  # the key renamed in place: n_critic is gone, n_critc is new
        text = text.replace("  n_critic: ${", "  n_critc: ${", 1)
    elif edit == "added":  # a line added with a key the code does not read
        text = text.replace("  penalty_weight: 0.1", "  penalty_weight: 0.1\n  lambda_gp: 5", 1)
    elif edit == "preset":  # a preset file with a typo
        (conf / "preset" / "mine.yaml").write_text("# @package _global_\nTRAIN:\n  n_critik: 3\n")
    path.write_text(text)
    return conf


@pytest.mark.parametrize("edit, key, suggestion", [
    ("misspelt", "TRAIN.n_critc", "TRAIN.n_critic"),
    ("added", "LOSS.lambda_gp", "LOSS"),
    ("preset", "TRAIN.n_critik", "TRAIN.n_critic"),
])
def test_config_typo__in_an_edited_yaml_file(tmp_path, edit, key, suggestion):
    conf = _edited_conf(tmp_path, edit)
    extra = ["preset=mine"] if edit == "preset" else []
    cfg = compose_cfg("toy", f"output_dir={tmp_path}/out", *extra, conf=conf)
    with pytest.raises(common.ConfigError) as info:
        toy.check_config(cfg)
    assert key in str(info.value) and suggestion in str(info.value)


def test_config_typo__deleted_key_is_one_line_not_a_traceback(tmp_path, capsys):
    conf = Path(shutil.copytree(REPO / "conf", tmp_path / "conf"))
    path = conf / "wgangp_toy.yaml"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("  n_critic:")))
    cfg = compose_cfg("toy", f"output_dir={tmp_path}/out", conf=conf)
    with pytest.raises(SystemExit) as info:
        toy.run(cfg)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "config key TRAIN.n_critic is missing" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "checkpoints").exists()


@pytest.mark.parametrize("override, code, expected", [
    ("TRAIN.n_critc=5", 1, "Could not override 'TRAIN.n_critc'"),  # Hydra's own refusal
    ("+TRAIN.n_critc=5", 2, "error: unknown config key TRAIN.n_critc (=5): did you mean TRAIN.n_critic?"),
])
def test_config_typo__on_the_command_line_of_the_entry_point(tmp_path, override, code, expected):
    done = run_entry(TOY_SCRIPT, f"output_dir={tmp_path}", *TINY, override, timeout=300)
    assert done.returncode == code, done.stderr[-2000:]
    assert expected in done.stderr
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "model_generator.pdparams").exists()


# ------------------------------------------------------------------- wrong type


@pytest.mark.parametrize(
    "experiment, override, expected",
    [
        ("toy", "TRAIN.n_critic=five", "TRAIN.n_critic='five' is not valid: an integer >= 1"),
        ("toy", "TRAIN.batch_size.critic=1.5", "TRAIN.batch_size.critic=1.5 is not valid: an integer >= 1"),
        ("toy", "TRAIN.optimizer.learning_rate=fast", "TRAIN.optimizer.learning_rate='fast' is not valid"),
        ("toy", "LOSS.penalty_weight=true", "LOSS.penalty_weight=True is not valid: a number >= 0"),
        ("toy", "TRAIN.batch_size=64", "TRAIN.batch_size=64 is not valid: a section"),
        ("toy", "TRAIN.overwrite=yes", "TRAIN.overwrite='yes' is not valid: true or false"),
        ("toy", "TRAIN.ema.use_ema=maybe", "TRAIN.ema.use_ema='maybe' is not valid: true or false"),
        ("toy", "MODEL.generator.hidden_dim=wide", "MODEL.generator.hidden_dim='wide' is not valid: an integer >= 1"),
        ("toy", "MODEL.generator.input_keys=z", "MODEL.generator.input_keys='z' is not valid: a list of names"),
        ("toy", "TRAIN.checkpoint_path=5", "TRAIN.checkpoint_path=5 is not valid"),
        ("toy", "TRAIN.on_nonfinite=true", "TRAIN.on_nonfinite=True is not valid: stop or skip"),
        ("toy", "seed=abc", "seed='abc' is not valid: an integer >= 0"),
        ("cifar10", "DATA.dequantize=maybe", "DATA.dequantize='maybe' is not valid: true or false"),
        ("mnist", "TRAIN.grid_freq=often", "TRAIN.grid_freq='often' is not valid"),
        ("mnist", "DATA.data_path=[a,b]", "DATA.data_path=['a', 'b'] is not valid"),
    ],
)
def test_wrong_type__is_named_with_what_is_valid(experiment, override, expected):
    assert expected in check(experiment, override)


# ----------------------------------------------------------------- out of range


@pytest.mark.parametrize(
    "experiment, overrides, expected",
    [
        ("toy", ["TRAIN.batch_size.critic=0"], "TRAIN.batch_size.critic=0 is not valid: an integer >= 1"),
        ("toy", ["TRAIN.batch_size.generator=-4"], "TRAIN.batch_size.generator=-4 is not valid"),
        ("toy", ["DATA.num_train_samples=100", "TRAIN.batch_size.critic=256"],
         "DATA.num_train_samples=100 is not valid: an integer >= TRAIN.batch_size.critic (256)"),
        ("toy", ["LOSS.penalty_weight=-1"], "LOSS.penalty_weight=-1 is not valid: a number >= 0"),
        ("toy", ["LOSS.penalty_weight=inf"], "LOSS.penalty_weight=inf is not valid"),
        ("toy", ["TRAIN.n_critic=0"], "TRAIN.n_critic=0 is not valid: an integer >= 1"),
        ("toy", ["TRAIN.optimizer.learning_rate=0"], "learning_rate=0 is not valid: a number in (0, 1]"),
        ("toy", ["TRAIN.optimizer.learning_rate=5"], "learning_rate=5 is not valid: a number in (0, 1]"),
        ("toy", ["TRAIN.optimizer.learning_rate=nan"], "TRAIN.optimizer.learning_rate=nan is not valid"),
        ("toy", ["TRAIN.optimizer.beta1=1.0"], "TRAIN.optimizer.beta1=1.0 is not valid: a number in [0, 1)"),
        ("toy", ["TRAIN.ema.decay=1.0"], "TRAIN.ema.decay=1.0 is not valid: a number in (0, 1)"),
        ("toy", ["TRAIN.epochs=0"], "TRAIN.epochs=0 is not valid: an integer >= 1"),
        ("toy", ["TRAIN.update_freq=2"], "TRAIN.update_freq=2 is not valid: 1"),
        ("toy", ["log_freq=0"], "log_freq=0 is not valid: an integer >= 1"),
        ("toy", ["+MODEL.generator.data_dim=3"], "MODEL.generator.data_dim=3 is not valid: 2 (the toy data are 2-D"),
        ("toy", ["TRAIN.resume=auto", "TRAIN.overwrite=true"],
         "TRAIN.overwrite=True is not valid: false with TRAIN.resume=auto"),
        ("cifar10", ["EVAL.num_samples=5"], "EVAL.num_samples=5 is not valid: an integer >= max(2, EVAL.is_splits)"),
        ("cifar10", ["EVAL.num_samples_during_train=3"], "EVAL.num_samples_during_train=3 is not valid"),
        ("mnist", ["EVAL.num_samples=5"], "EVAL.num_samples=5 is not valid"),
        ("cifar10", ["+MODEL.generator.image_size=48", "+MODEL.critic.image_size=48"],
         "MODEL.generator.image_size=48 is not valid: one of 32, 64"),
        ("cifar10", ["+MODEL.generator.image_size=64", "+MODEL.critic.image_size=64"],
         "MODEL.generator.image_size=64 is not valid: 32 for training: CIFAR-10 images are 32 x 32"),
        ("cifar10", ["+MODEL.critic.image_size=64"], "MODEL.critic.image_size=64 is not valid: the same as"),
        ("cifar10", ["MODEL.num_classes=5"], "MODEL.num_classes=5 is not valid: 0 (WGAN-GP) or 10"),
        ("cifar10", ["MODEL.generator.dim=0"], "MODEL.generator.dim=0 is not valid: an integer >= 1"),
        ("mnist", ["INFER.num_samples=0"], "INFER.num_samples=0 is not valid: an integer >= 1"),
        ("toy", ["INFER.batch_size=0"], "INFER.batch_size=0 is not valid: an integer >= 1"),
    ],
)
def test_out_of_range__is_named_with_what_is_valid(experiment, overrides, expected):
    assert expected in check(experiment, *overrides)


@pytest.mark.parametrize(
    "experiment, data_shape, expected",
    [
        ("toy", (300, 3), "have shape [3], but MODEL.generator (ToyGenerator) makes samples of shape [2]"),
        ("mnist", (20, 1, 32, 32),
         "have shape [1, 32, 32], but MODEL.generator (MnistGenerator) makes samples of shape [1, 28, 28]"),
        ("cifar10", (20, 3, 28, 28),
         "have shape [3, 28, 28], but MODEL.generator (ResNet32Generator) makes samples of shape [3, 32, 32]"),
        ("cifar10", (20, 1, 32, 32), "have shape [1, 32, 32]"),
    ],
)
def test_out_of_range__data_the_networks_do_not_fit(tmp_path, experiment, data_shape, expected):
    small = {"toy": ["MODEL.generator.hidden_dim=8", "MODEL.critic.hidden_dim=8"],
             "mnist": ["MODEL.generator.dim=4", "MODEL.critic.dim=4", "TRAIN.batch_size.critic=10"],
             "cifar10": ["MODEL.generator.dim=4", "MODEL.critic.dim=4", "TRAIN.batch_size.critic=10"]}
    cfg = compose_cfg(experiment, f"output_dir={tmp_path}", *small[experiment])
    EXPERIMENTS[experiment][0].check_config(cfg)
    data = np.zeros(data_shape, "uint8" if experiment == "cifar10" else "float32")
    with pytest.raises(common.DataError) as info:
        common.train(cfg, {cfg.MODEL.critic.input_keys[0]: data}, data_source="my_data.npy")
    assert str(info.value).startswith("my_data.npy: ") and expected in str(info.value)
    assert not (tmp_path / "checkpoints").exists()


def test_out_of_range__bad_mode_ends_in_one_line(tmp_path, capsys):
    cfg = toy_cfg(tmp_path, "mode=fit")
    with pytest.raises(SystemExit):
        toy.run(cfg)
    assert "error: mode='fit' is not valid: one of train, eval, export, infer" in capsys.readouterr().err


# ------------------------------------------------------- truncated checkpoint


@pytest.mark.parametrize("what", ["checkpoint", "generator weights"])
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.5, 0.99])
def test_truncated__file_is_named_and_left_as_it_is(tmp_path, toy_run, what, fraction):
    source = toy_run / ("checkpoints/latest.pdckpt" if what == "checkpoint" else "model_generator.pdparams")
    data = source.read_bytes()
    bad = tmp_path / f"truncated{source.suffix}"
    bad.write_bytes(data[: int(len(data) * fraction)])
    before = bad.read_bytes()
    out = tmp_path / "out"
    if what == "checkpoint":
        cfg = toy_cfg(out, f"TRAIN.checkpoint_path={bad}")
        with pytest.raises(ckpt.CheckpointError) as info:
            toy.train(cfg)
        assert not (out / "checkpoints").exists()
    else:
        cfg = toy_cfg(out, "mode=eval", f"EVAL.pretrained_gen_model_path={bad}")
        with pytest.raises(ckpt.CheckpointError) as info:
            toy.evaluate(cfg)
        assert not (out / "samples.npy").exists()
    assert str(bad) in str(info.value) and "truncated" in str(info.value)
    assert bad.read_bytes() == before


# ------------------------------------------------------ corrupted checkpoint


def _flip_weight_byte(path, key, network, offset):
    """Change one byte inside the stored values of one tensor."""
    state = paddle.load(str(path))
    values = (state[network][key] if network else state[key]).numpy().tobytes()
    raw = bytearray(path.read_bytes())
    where = raw.find(values)
    assert where > 0
    raw[where + offset] ^= 0x01
    path.write_bytes(bytes(raw))


def _corrupt(kind, path):
    if kind == "one flipped bit in a weight (checkpoint)":
        _flip_weight_byte(path, "net.0.weight", "generator", 4)  # lowest mantissa bit: still finite
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "a text file":
        path.write_text("this is not a checkpoint\n")
    elif kind == "a pickle of a list":
        path.write_bytes(pickle.dumps([1, 2, 3]))
    elif kind == "a checkpoint without its random states":
        state = paddle.load(str(path))
        del state["rng"], state["digest"]
        paddle.save(state, str(path))
    elif kind == "weights file given as checkpoint":
        shutil.copy(path.parent.parent / "model_generator.pdparams", path)


@pytest.mark.parametrize("kind", [
    "one flipped bit in a weight (checkpoint)", "random bytes", "a text file", "a pickle of a list",
    "a checkpoint without its random states", "weights file given as checkpoint",
])
def test_corrupted__checkpoint_is_refused_by_name(tmp_path, toy_run, kind):
    run = copy_run(toy_run, tmp_path / "run")
    path = run / "checkpoints" / "latest.pdckpt"
    _corrupt(kind, path)
    before = path.read_bytes()
    cfg = toy_cfg(run, "TRAIN.resume=auto", "TRAIN.epochs=3")
    with pytest.raises(ckpt.CheckpointError) as info:
        toy.train(cfg)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before  # never overwritten
    if kind.startswith("one flipped bit"):
        assert "corrupted: its contents do not match the digest" in str(info.value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_corrupted__weights_with_nonfinite_values_are_refused(tmp_path, toy_run, value):
    state = paddle.load(str(toy_run / "model_generator.pdparams"))
    weight = state["net.2.weight"].numpy()
    weight[1, 3] = value
    state["net.2.weight"] = paddle.to_tensor(weight)
    path = tmp_path / "diverged.pdparams"
    paddle.save(state, str(path))
    cfg = toy_cfg(tmp_path / "out", "mode=eval", f"EVAL.pretrained_gen_model_path={path}")
    with pytest.raises(ckpt.CheckpointError) as info:
        toy.evaluate(cfg)
    assert "holds NaN or infinite weights" in str(info.value) and "net.2.weight (1 of 256)" in str(info.value)
    assert str(path) in str(info.value)


# ------------------------------------------------------------- another model


@pytest.mark.parametrize("change, expected", [
    ("MODEL.generator.hidden_dim=32", "net.0.weight: file [2, 16], network [2, 32]"),
    ("MODEL.critic.num_layers=4", "missing from the file"),
    ("TRAIN.ema.use_ema=false", "written with generator averaging on, but it is off now"),
    ("TRAIN.optimizer.name=RMSProp", "optimised by Adam, but it is RMSProp now"),
])
def test_other_model__checkpoint_is_refused_and_kept(tmp_path, toy_run, change, expected):
    run = copy_run(toy_run, tmp_path / "run")
    before = files_under(run), (run / "checkpoints" / "latest.pdckpt").read_bytes()
    cfg = toy_cfg(run, "TRAIN.resume=auto", "TRAIN.epochs=3", change)
    with pytest.raises(ckpt.CheckpointError) as info:
        toy.train(cfg)
    assert expected in str(info.value) and "latest.pdckpt" in str(info.value)
    assert (files_under(run), (run / "checkpoints" / "latest.pdckpt").read_bytes()) == before


def _state_of(kind):
    paddle.seed(0)
    return {
        "toy critic": ToyCritic(hidden_dim=16),
        "toy generator 16 wide": ToyGenerator(hidden_dim=16),
        "mnist generator": MnistGenerator(dim=4),
        "unconditional ResNet generator": ResNet32Generator(dim=4),
    }[kind].state_dict()


@pytest.mark.parametrize("kind, network, expected", [
    ("toy critic", lambda: ToyGenerator(hidden_dim=16), "net.6.weight: file [16, 1], network [16, 2]"),
    ("toy generator 16 wide", lambda: ToyGenerator(hidden_dim=64), "net.0.weight: file [2, 16], network [2, 64]"),
    ("mnist generator", lambda: ResNet32Generator(dim=4), "does not fit the network"),
    ("unconditional ResNet generator", lambda: ResNet32Generator(dim=4, num_classes=10), "does not fit the network"),
], ids=["toy critic as generator", "narrower toy generator", "mnist generator as ResNet",
        "unconditional as conditional ResNet"])
def test_other_model__weights_are_refused_with_what_differs(tmp_path, kind, network, expected):
    network = network()
    path = tmp_path / "weights.pdparams"
    paddle.save(_state_of(kind), str(path))
    before = {k: v.numpy().copy() for k, v in network.state_dict().items()}
    with pytest.raises(ckpt.CheckpointError) as info:
        common.load_weights(network, str(path), "generator", "EVAL.pretrained_gen_model_path")
    assert expected in str(info.value) and str(path) in str(info.value)
    # nothing was loaded partially
    assert all(np.array_equal(before[k], v.numpy()) for k, v in network.state_dict().items())


# ---------------------------------------------------------------- missing file


def test_missing_file__checkpoint_path_before_any_work(tmp_path):
    cfg = toy_cfg(tmp_path / "out", f"TRAIN.checkpoint_path={tmp_path}/gone/latest")
    with pytest.raises(FileNotFoundError) as info:
        toy.train(cfg)
    assert f"no checkpoint at '{tmp_path}/gone/latest.pdckpt'" in str(info.value)
    assert files_under(tmp_path / "out") == []


@pytest.mark.parametrize("key", ["EVAL.pretrained_gen_model_path", "EVAL.pretrained_dis_model_path"])
def test_missing_file__weights_for_eval(tmp_path, toy_run, key):
    paths = {"EVAL.pretrained_gen_model_path": toy_run / "model_generator.pdparams",
             "EVAL.pretrained_dis_model_path": toy_run / "model_discriminator.pdparams"}
    paths[key] = tmp_path / "nope.pdparams"
    cfg = toy_cfg(tmp_path / "out", "mode=eval", *(f"{k}={v}" for k, v in paths.items()))
    with pytest.raises(FileNotFoundError, match="nope.pdparams"):
        toy.evaluate(cfg)
    assert not (tmp_path / "out" / "samples.npy").exists()


def test_missing_file__exported_model_for_infer(tmp_path):
    cfg = toy_cfg(tmp_path, "mode=infer")
    with pytest.raises(FileNotFoundError, match="run mode=export first"):
        toy.infer(cfg)


def test_missing_file__weights_for_export(tmp_path):
    cfg = toy_cfg(tmp_path, "mode=export", f"INFER.pretrained_model_path={tmp_path}/nope.pdparams")
    with pytest.raises(FileNotFoundError, match="nope.pdparams"):
        toy.export(cfg)


def test_missing_file__mnist_data(tmp_path):
    message = check("mnist", f"DATA.data_path={tmp_path}/mnist.pkl.gz")
    assert f"DATA.data_path='{tmp_path}/mnist.pkl.gz' is not valid: no such file" in message


def test_missing_file__cifar10_data(tmp_path):
    cfg = compose_cfg("cifar10", f"output_dir={tmp_path}", f"DATA.data_path={tmp_path}/cifar-10-python.tar.gz")
    cifar10.check_config(cfg)
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
        cifar10.train(cfg)


# ------------------------------------------------------------ unwritable folder


def _deny(monkeypatch, folder, code):
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(Path(dir).resolve()).startswith(str(Path(folder).resolve())):
            raise OSError(code, os.strerror(code), dir)
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize("case", ["parent is a file", "output_dir is a file", "checkpoints is a file",
                                  "permission denied", "read-only file system"])
def test_unwritable_dir__refused_before_training(tmp_path, monkeypatch, case):
    out = tmp_path / "out"
    if case == "parent is a file":
        (tmp_path / "blocker").write_text("x")
        out = tmp_path / "blocker" / "out"
    elif case == "output_dir is a file":
        out.write_text("x")
    elif case == "checkpoints is a file":
        out.mkdir()
        (out / "checkpoints").write_text("x")
    else:
        out.mkdir()
        _deny(monkeypatch, out, errno.EACCES if case == "permission denied" else errno.EROFS)
    cfg = toy_cfg(out)
    with pytest.raises(common.ConfigError) as info:
        toy.train(cfg)
    assert str(out) in str(info.value)
    if case != "checkpoints is a file":
        assert "cannot be written to" in str(info.value)
    assert not (out.is_dir() and (out / "model_generator.pdparams").exists())


def test_unwritable_dir__eval_is_refused_before_sampling(tmp_path, toy_run):
    (tmp_path / "blocker").write_text("x")
    cfg = toy_cfg(tmp_path / "blocker" / "out", "mode=eval",
                  f"EVAL.pretrained_gen_model_path={toy_run}/model_generator.pdparams")
    with pytest.raises(common.ConfigError, match="cannot be written to"):
        toy.evaluate(cfg)


# -------------------------------------------------------------------- disk full


def fail_nth_save(monkeypatch, name, error, nth=1):
    """Make the ``nth`` paddle.save into a temporary file for ``name`` write half of
    its bytes and then raise ``error`` (a full disk found mid-write)."""
    real = paddle.save
    calls = {"n": 0}

    def save(obj, path, *args, **kwargs):
        if isinstance(path, str) and os.path.basename(path).startswith(f".{name}."):
            calls["n"] += 1
            if calls["n"] == nth:
                buffer = io.BytesIO()
                real(obj, buffer)
                with open(path, "wb") as f:
                    f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                raise error
        return real(obj, path, *args, **kwargs)

    monkeypatch.setattr(paddle, "save", save)
    return calls


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_disk_full__while_saving_a_checkpoint(tmp_path, monkeypatch, code):
    out = tmp_path / "out"
    cfg = toy_cfg(out, "TRAIN.epochs=3")
    fail_nth_save(monkeypatch, "latest.pdckpt", OSError(code, os.strerror(code)), nth=2)
    with pytest.raises(ckpt.WriteError) as info:
        toy.train(cfg)
    latest = out / "checkpoints" / "latest.pdckpt"
    assert f"Could not write '{latest}'" in str(info.value) and info.value.errno == code
    assert temp_files(out) == []
    assert int(paddle.load(str(latest))["global_step"]) == 2  # the previous checkpoint, whole
    monkeypatch.undo()
    resumed = toy.train(toy_cfg(out, "TRAIN.epochs=3", "TRAIN.resume=auto"))
    assert resumed.global_step == 6 and resumed.history["iteration"] == list(range(1, 7))


@pytest.mark.parametrize("name", ["model_generator.pdparams", "model_discriminator.pdparams"])
def test_disk_full__while_saving_final_weights_keeps_the_old_ones(tmp_path, toy_run, monkeypatch, name):
    run = copy_run(toy_run, tmp_path / "run")
    old = (run / name).read_bytes()
    cfg = toy_cfg(run, "TRAIN.overwrite=true", "seed=7")
    fail_nth_save(monkeypatch, name, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(ckpt.WriteError, match=f"Could not write '{run / name}': No space left on device"):
        toy.train(cfg)
    assert (run / name).read_bytes() == old and temp_files(run) == []


def test_disk_full__while_writing_the_history(tmp_path, monkeypatch):
    class FullDiskWriter:
        def __init__(self, f):
            self.f = f

        def writerow(self, row):
            self.f.write(",".join(row) + "\n")

        def writerows(self, rows):
            self.f.write("1,2,")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(wgan_solver.csv, "writer", FullDiskWriter)
    out = tmp_path / "out"
    with pytest.raises(ckpt.WriteError, match="history.csv"):
        toy.train(toy_cfg(out))
    assert not (out / "history.csv").exists() and temp_files(out) == []
    assert (out / "model_generator.pdparams").is_file()  # written before, whole


def test_disk_full__ends_the_command_in_one_line(tmp_path, monkeypatch, capsys):
    fail_nth_save(monkeypatch, "latest.pdckpt", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(SystemExit) as info:
        toy.run(toy_cfg(tmp_path))
    err = capsys.readouterr().err
    assert info.value.code == 2 and "error: Could not write" in err and "TRAIN.resume=auto" in err


# -------------------------------------------------------------- non-finite loss


def tiny_solver(out, on_nonfinite="stop", data=None, **kw):
    paddle.seed(0)
    gen, critic = ToyGenerator(hidden_dim=8), ToyCritic(hidden_dim=8)
    data = np.random.default_rng(0).standard_normal((64, 2)).astype("float32") if data is None else data
    from ppsci import constraint, optimizer
    from ppsci_ext.loss import CriticLoss
    from ppsci_ext.loss import GeneratorLoss

    real = constraint.SupervisedConstraint(
        {"dataset": {"name": "NamedArrayDataset", "input": {"x": data}}, "batch_size": 16},
        CriticLoss(penalty_weight=1.0), name="critic")
    return WGANSolver(gen, critic, real, GeneratorLoss(), optimizer.Adam(1e-3)(gen), optimizer.Adam(1e-3)(critic),
                      critic_batch_size=16, n_critic=2, on_nonfinite=on_nonfinite, output_dir=str(out),
                      epochs=2, iters_per_epoch=2, save_freq=1, log_freq=100, **kw)


def _poison(solver, where):
    with paddle.no_grad():
        if where == "critic bias":
            solver.critic_arch.net[-1].bias.set_value(paddle.full([1], float("nan")))
        elif where == "generator bias":
            bias = solver.generator_arch.net[-1].bias
            bias.set_value(paddle.full(bias.shape, float("inf")))
        elif where == "real data":
            solver.critic_constraint.data_loader.dataset.input["x"][:] = np.inf


@pytest.mark.parametrize("where", ["critic bias", "generator bias", "real data"])
def test_nonfinite_loss__stops_naming_iteration_values_and_checkpoint(tmp_path, where):
    solver = tiny_solver(tmp_path)
    solver.max_steps = 4
    solver.train_epoch_func(solver, 1, 100)
    path = solver.save_training_state()
    saved = Path(path).read_bytes()
    _poison(solver, where)
    with pytest.raises(NonFiniteLossError) as info:
        solver.train_epoch_func(solver, 2, 100)
    message = str(info.value)
    assert "iteration 3" in message and path in message and ("nan" in message or "inf" in message)
    assert Path(path).read_bytes() == saved


@pytest.mark.parametrize("where", ["critic bias", "generator bias"])
def test_nonfinite_loss__skip_drops_and_counts_the_steps(tmp_path, where):
    solver = tiny_solver(tmp_path, on_nonfinite="skip")
    _poison(solver, where)
    solver.train()
    assert solver.nonfinite_skipped >= 4 and solver.global_step == 4


def test_nonfinite_loss__ends_the_command_in_one_line(tmp_path, monkeypatch, capsys):
    real_build = common.build_networks

    def build_poisoned(cfg):
        gen, critic = real_build(cfg)
        with paddle.no_grad():
            critic.net[-1].bias.set_value(paddle.full([1], float("nan")))
        return gen, critic

    monkeypatch.setattr(common, "build_networks", build_poisoned)
    with pytest.raises(SystemExit) as info:
        toy.run(toy_cfg(tmp_path))
    err = capsys.readouterr().err
    assert info.value.code == 2 and "error: Training stopped at iteration 1" in err


# ------------------------------------------------------------- non-finite data


@pytest.mark.parametrize("value, count", [(np.nan, 1), (np.nan, 25), (np.inf, 3), (-np.inf, 1)])
def test_nonfinite_data__refused_with_the_count_before_training(tmp_path, value, count):
    cfg = toy_cfg(tmp_path)
    data = np.random.default_rng(0).standard_normal((300, 2)).astype("float32")
    data.reshape(-1)[np.arange(count) * 7 + 11] = value
    with pytest.raises(common.DataError) as info:
        common.train(cfg, {"x": data}, data_source="points.npy")
    rows = len({(i * 7 + 11) // 2 for i in range(count)})
    assert str(info.value).startswith(f"points.npy: {count} non-finite values (NaN or inf) in the "
                                      f"training input 'x', in {rows} of its 300 samples (the first: sample 5)")
    assert not (tmp_path / "checkpoints").exists()


def test_nonfinite_data__in_labels(tmp_path):
    cfg = toy_cfg(tmp_path)
    data = np.zeros((300, 2), "float32")
    labels = np.zeros(300, "float32")
    labels[40] = np.nan
    with pytest.raises(common.DataError, match="1 non-finite values .* in the training label 'weight'"):
        common.train(cfg, {"x": data}, {"weight": labels}, data_source="points.npz")


def test_nonfinite_data__source_named_from_the_config(tmp_path):
    cfg = compose_cfg("mnist", f"output_dir={tmp_path}", "MODEL.generator.dim=4", "MODEL.critic.dim=4",
                      f"DATA.data_path={tmp_path}/digits.pkl.gz", "TRAIN.batch_size.critic=10")
    images = np.full((20, 1, 28, 28), 0.5, "float32")
    images[3, 0, :2, :2] = np.nan
    with pytest.raises(common.DataError) as info:
        common.train(cfg, {"x": images})
    assert str(info.value).startswith(f"DATA.data_path='{tmp_path}/digits.pkl.gz': 4 non-finite values")


def test_nonfinite_data__in_an_mnist_file(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    x = np.full((30, 784), 0.25, "float32")
    x[4, 100] = np.nan
    y = np.zeros(30, "int64")
    with gzip.open(path, "wb") as f:
        pickle.dump(((x, y), (x[:5], y[:5]), (x[:5], y[:5])), f, protocol=2)
    cfg = compose_cfg("mnist", f"output_dir={tmp_path}/out", f"DATA.data_path={path}", "MODEL.generator.dim=4",
                      "MODEL.critic.dim=4", "TRAIN.batch_size.critic=10", "TRAIN.batch_size.generator=10")
    mnist.check_config(cfg)
    with pytest.raises(common.ConfigError) as info:
        mnist.train(cfg)
    assert str(path) in str(info.value)
    assert not (tmp_path / "out" / "checkpoints").exists()


# --------------------------------------------------------- existing run in output_dir


def test_existing_run__checkpoint_refuses_a_new_run_and_names_the_ways_out(tmp_path, toy_run):
    run = copy_run(toy_run, tmp_path / "run")
    before = {f: (run / f).read_bytes() for f in files_under(run)}
    with pytest.raises(common.ConfigError) as info:
        toy.train(toy_cfg(run))
    message = str(info.value)
    assert f"output_dir='{run}' already holds another run (checkpoints/latest.pdckpt" in message
    for way in ("TRAIN.resume=auto", f"TRAIN.checkpoint_path={run}/checkpoints/latest.pdckpt",
                "TRAIN.overwrite=true"):
        assert way in message
    assert {f: (run / f).read_bytes() for f in files_under(run)} == before


def test_existing_run__final_weights_alone_refuse_a_new_run(tmp_path, toy_run):
    run = copy_run(toy_run, tmp_path / "run")
    shutil.rmtree(run / "checkpoints")
    for extra in ([], ["TRAIN.resume=auto"]):
        with pytest.raises(common.ConfigError) as info:
            toy.train(toy_cfg(run, *extra))
        assert "model_generator.pdparams" in str(info.value) and "no checkpoint to continue from" in str(info.value)


def _stop_after_first_checkpoint(monkeypatch):
    real = WGANSolver.save_training_state

    def save_then_die(self, path=None):
        real(self, path)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(WGANSolver, "save_training_state", save_then_die)


def test_existing_run__resume_auto_continues_to_the_same_weights(tmp_path, toy_run, monkeypatch):
    out = tmp_path / "out"
    _stop_after_first_checkpoint(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        toy.train(toy_cfg(out))
    monkeypatch.undo()
    resumed = toy.train(toy_cfg(out, "TRAIN.resume=auto"))
    assert resumed.history["iteration"] == [1, 2, 3, 4]
    for name in ("model_generator.pdparams", "model_discriminator.pdparams"):
        want, got = paddle.load(str(toy_run / name)), paddle.load(str(out / name))
        assert all(np.array_equal(want[k].numpy(), got[k].numpy()) for k in want), name


def test_existing_run__resume_auto_in_an_empty_folder_starts_afresh(tmp_path):
    solver = toy.train(toy_cfg(tmp_path, "TRAIN.resume=auto"))
    assert solver.global_step == 4 and solver.history["iteration"][0] == 1


def test_existing_run__overwrite_keeps_the_old_checkpoint_until_the_new_one_is_written(tmp_path, toy_run, monkeypatch):
    run = copy_run(toy_run, tmp_path / "run")
    old = {f: (run / f).read_bytes() for f in files_under(run)}

    def die_before_saving(self, path=None):
        raise KeyboardInterrupt("killed before the first checkpoint")

    monkeypatch.setattr(WGANSolver, "save_training_state", die_before_saving)
    with pytest.raises(KeyboardInterrupt):
        toy.train(toy_cfg(run, "TRAIN.overwrite=true", "seed=7"))
    assert {f: (run / f).read_bytes() for f in files_under(run)} == old
    monkeypatch.undo()
    toy.train(toy_cfg(run, "TRAIN.overwrite=true", "seed=7"))
    new = {f: (run / f).read_bytes() for f in files_under(run)}
    assert new["checkpoints/latest.pdckpt"] != old["checkpoints/latest.pdckpt"]
    assert new["model_generator.pdparams"] != old["model_generator.pdparams"]


def test_existing_run__another_runs_checkpoint_into_it_is_refused(tmp_path, toy_run):
    run = copy_run(toy_run, tmp_path / "run")
    other = copy_run(toy_run, tmp_path / "other")
    with pytest.raises(common.ConfigError, match="is another run's checkpoint"):
        toy.train(toy_cfg(run, f"TRAIN.checkpoint_path={other}/checkpoints/latest.pdckpt", "TRAIN.epochs=3"))
    # its own checkpoint is fine (ppsci's prefix form too)
    solver = toy.train(toy_cfg(run, f"TRAIN.checkpoint_path={run}/checkpoints/latest", "TRAIN.epochs=3"))
    assert solver.history["iteration"] == list(range(1, 7))


@pytest.mark.slow  # a process of its own; run by .ci/run
def test_existing_run__refused_by_the_entry_point_in_one_line(tmp_path, toy_run):
    run = copy_run(toy_run, tmp_path / "run")
    done = run_entry(TOY_SCRIPT, f"output_dir={run}", *TINY, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"error: output_dir='{run}' already holds another run" in done.stderr


# ------------------------------------------------------------------- killed


@pytest.mark.parametrize("name", ["model_generator.pdparams", "checkpoints/latest.pdckpt"])
def test_killed__interrupted_save_leaves_the_previous_file_whole(tmp_path, monkeypatch, name):
    path = tmp_path / name
    ckpt.save_atomic({"w": paddle.ones([64, 64]), "step": 1}, str(path))
    before = path.read_bytes()
    fail_nth_save(monkeypatch, path.name, KeyboardInterrupt("signal during the write"))
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_atomic({"w": paddle.zeros([64, 64]), "step": 2}, str(path))
    assert path.read_bytes() == before and temp_files(tmp_path) == []


CHILD = r"""
import io, os, sys, time
from ppsci_ext.solver.checkpoint import save_atomic
import paddle

path = sys.argv[1]
save_atomic({"w": paddle.ones([256, 256]), "step": 1}, path)
real = paddle.save


def stalled_save(obj, tmp):
    buffer = io.BytesIO()
    real(obj, buffer)
    data = buffer.getvalue()
    with open(tmp, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        os.fsync(f.fileno())
        print("WRITING", tmp, flush=True)
        time.sleep(600)  # killed here, half-way through the file
        f.write(data[len(data) // 2 :])


paddle.save = stalled_save
save_atomic({"w": paddle.zeros([256, 256]), "step": 2}, path)
"""


@pytest.mark.parametrize("name", ["model_generator.pdparams", "checkpoints/latest.pdckpt"])
def test_killed__sigkill_mid_write_leaves_the_previous_file_whole(tmp_path, name):
    path = tmp_path / name
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        line = proc.stdout.readline()
        assert line.startswith("WRITING"), line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = Path(line.split(" ", 1)[1].strip())
    state = ckpt.load_file(str(path))
    assert int(state["step"]) == 1 and bool((state["w"] == 1).all())
    assert partial.is_file() and partial.stat().st_size < path.stat().st_size
    with pytest.raises(ckpt.CheckpointError):
        ckpt.load_file(str(partial))
    # the next run removes what the killed save left, and nothing else
    assert ckpt.remove_stale_temp_files(str(path.parent)) == [str(partial)]
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.slow
def test_killed__sigkill_at_random_moments_then_resume_auto_gives_the_same_weights(tmp_path):
    args = ["TRAIN.epochs=6", "TRAIN.iters_per_epoch=20", "TRAIN.save_freq=1", "log_freq=1000",
            "MODEL.generator.hidden_dim=64", "MODEL.critic.hidden_dim=64", "DATA.num_train_samples=5000"]
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def command(out, *extra):
        return [sys.executable, str(TOY_SCRIPT), f"output_dir={out}", *args, *extra]

    done = subprocess.run(command(tmp_path / "full"), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "killed"
    latest = out / "checkpoints" / "latest.pdckpt"
    rng = np.random.default_rng(1)
    for attempt in range(3):
        proc = subprocess.Popen(command(out, "TRAIN.resume=auto"), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        start = latest.stat().st_mtime if latest.exists() else 0
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if latest.exists() and latest.stat().st_mtime > start:
                time.sleep(float(rng.uniform(0, 0.6)))  # anywhere: training or the next save
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(command(out, "TRAIN.resume=auto"), env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("model_generator.pdparams", "model_discriminator.pdparams"):
        want, got = paddle.load(str(tmp_path / "full" / name)), paddle.load(str(out / name))
        assert all(np.array_equal(want[k].numpy(), got[k].numpy()) for k in want), name
    assert temp_files(out) == []


# ------------------------------------------------------------------ counts


def fault_counts():
    """Cases per kind in this file: ``{kind: (fast, slow)}``."""

    class Collect:
        items = []

        def pytest_collection_modifyitems(self, items):
            Collect.items = list(items)

    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            pytest.main([__file__, "--collect-only", "-q", "-m", "", "-p", "no:cacheprovider"],
                        plugins=[Collect()])
        finally:
            sys.stdout = stdout
    counts = {kind: [0, 0] for kind in KINDS}
    for item in Collect.items:
        kind = item.originalname[len("test_"):].split("__")[0]
        if kind in counts:  # test_no_fault__* are not fault cases
            counts[kind][1 if item.get_closest_marker("slow") else 0] += 1
    return counts


if __name__ == "__main__":
    rows = fault_counts()
    width = max(len(v) for v in KINDS.values())
    for kind, (fast, slow) in rows.items():
        print(f"{KINDS[kind]:<{width}}  {fast + slow:>3}" + (f"  ({slow} slow)" if slow else ""))
    print(f"{'total':<{width}}  {sum(f + s for f, s in rows.values()):>3}")
