"""What every experiment shares: config checks, building networks, optimisers and
the solver from a config, loading weights, and drawing samples.

An experiment (toy, MNIST, CIFAR-10) adds only its data and its evaluation; the
networks are named in ``MODEL`` and the training recipe in ``LOSS`` and ``TRAIN``.
"""

from __future__ import annotations

import difflib
import inspect
import math
import os
from typing import Any
from typing import Dict
from typing import Optional
from typing import Sequence
from typing import Tuple

import numpy as np
import paddle
import ppsci
from omegaconf import DictConfig
from omegaconf import OmegaConf
from ppsci.utils import logger
from ppsci.utils import misc

from ppsci_ext import arch as arch_module
from ppsci_ext.compat import paddlescience
from ppsci_ext.experiments import processes
from ppsci_ext.loss import CriticLoss
from ppsci_ext.loss import GeneratorLoss
from ppsci_ext.solver import WGANSolver
from ppsci_ext.solver import checkpoint as ckpt

__all__ = [
    "ConfigError",
    "DataError",
    "config_keys",
    "check_known_keys",
    "check_config",
    "prepare_training_run",
    "check_real_data",
    "build_networks",
    "build_solver",
    "load_weights",
    "load_network",
    "load_generator",
    "sample",
]

LOSS_NAMES = ("wgan_gp", "wgan_clip")
OPTIMIZER_NAMES = ("Adam", "RMSProp")
LR_DECAYS = ("none", "linear")


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and what is valid."""


class DataError(ValueError):
    """Training data that cannot be trained on (non-finite values, samples of a shape
    the networks do not make); the message names the data and what to do."""


def require(ok: bool, key: str, value: Any, valid: str) -> None:
    """Raise :class:`ConfigError` ``"{key}={value!r} is not valid: {valid}"`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key}={value!r} is not valid: {valid}")


def is_int(v) -> bool:
    """An int that is not a bool (YAML's ``true`` is not a batch size)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    """A finite int or float that is not a bool (``inf`` is no learning rate)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# ----------------------------------------------------------------- config keys

#: In a key schema: a section whose keys are free (``wandb_config``).
ANY_KEYS = "any keys"
#: In a key schema: a network section (``MODEL.generator``): ``name`` and the
#: arguments of the ``ppsci_ext.arch`` class it names.
NETWORK = "network"

#: The keys every experiment reads besides ppsci's own (``ppsci_default``).
SHARED_KEYS: Dict[str, Any] = {
    "MODEL": {"generator": NETWORK, "critic": NETWORK},
    "LOSS": {"name": None, "penalty_weight": None, "penalty_interval": None, "clip_value": None},
    "TRAIN": {
        "n_critic": None,
        "processes": None,
        "batch_size": {"critic": None, "generator": None},
        "optimizer": {k: None for k in ("name", "learning_rate", "critic_learning_rate", "beta1",
                                          "beta2", "lr_decay")},
        "on_nonfinite": None,
        "resume": None,
        "overwrite": None,
    },
    "hydra": ANY_KEYS,  # present when a run's full config is loaded back
}


def _ppsci_keys() -> Dict[str, Any]:
    """The keys of ppsci's ``ppsci_default`` config, from its pydantic schema."""
    from ppsci.utils import config as ppsci_config

    def fields(model) -> Dict[str, Any]:
        return {name: None for name in model.model_fields}

    keys = fields(ppsci_config.SolverConfig)
    keys["wandb_config"] = ANY_KEYS
    keys["TRAIN"] = dict(fields(ppsci_config.TrainConfig), ema=fields(ppsci_config.EMAConfig),
                         swa=fields(ppsci_config.SWAConfig))
    keys["EVAL"] = fields(ppsci_config.EvalConfig)
    keys["INFER"] = fields(ppsci_config.InferConfig)
    return keys


def _merge_keys(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_keys(out[key], value)
        else:
            out[key] = value
    return out


def config_keys(experiment_keys: Dict[str, Any]) -> Dict[str, Any]:
    """An experiment's key schema: ppsci's keys, :data:`SHARED_KEYS` and the
    experiment's own (nested dicts; a leaf is ``None``, :data:`ANY_KEYS` a free
    section, :data:`NETWORK` a network section).

    Examples:
        >>> from ppsci_ext.experiments.common import config_keys
        >>> keys = config_keys({"DATA": {"data_path": None}})
        >>> "n_critic" in keys["TRAIN"] and "checkpoint_path" in keys["TRAIN"]
        True
    """
    return _merge_keys(_merge_keys(_ppsci_keys(), SHARED_KEYS), experiment_keys)


def _network_names() -> Tuple[str, ...]:
    return tuple(n for n in arch_module.__all__ if n not in ("GeneratorArch", "CriticArch"))


def _network_class(name: Any, key: str):
    cls = getattr(arch_module, name, None) if isinstance(name, str) else None
    if cls is None or name not in _network_names():
        near = difflib.get_close_matches(str(name), _network_names(), n=2, cutoff=0.6)
        raise ConfigError(
            f"{key}={name!r} is not valid: one of {', '.join(_network_names())}"
            + (f" (did you mean {' or '.join(near)}?)" if near else "")
        )
    return cls


def _network_keys(cls) -> Any:
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return ANY_KEYS
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {"name": None, **{p.name: None for p in params if p.kind in named}}


def _resolve_networks(cfg: DictConfig, tree: Dict[str, Any], spec: Dict[str, Any], prefix: str = ""):
    """``spec`` with each :data:`NETWORK` replaced by the keys of the class it names."""
    out = {}
    for key, sub in spec.items():
        if sub == NETWORK and isinstance(tree.get(key), dict):
            out[key] = _network_keys(_network_class(OmegaConf.select(cfg, f"{prefix}{key}.name"),
                                                    f"{prefix}{key}.name"))
        elif isinstance(sub, dict):
            out[key] = _resolve_networks(cfg, tree.get(key) if isinstance(tree.get(key), dict) else {},
                                         sub, f"{prefix}{key}.")
        else:
            out[key] = sub
    return out


def _key_paths(spec: Dict[str, Any], prefix: str = ""):
    for key, sub in spec.items():
        yield f"{prefix}{key}"
        if isinstance(sub, dict):
            yield from _key_paths(sub, f"{prefix}{key}.")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_known_keys(cfg: DictConfig, keys: Dict[str, Any]) -> None:
    """Refuse config keys that ``keys`` (see :func:`config_keys`) does not name, in one
    :class:`ConfigError` that gives each unknown key with its value and the closest
    known ones.

    Hydra itself refuses an unknown key overridden on the command line without
    ``+``; this check also catches one added with ``+``, one written into a YAML file
    (an experiment's config or a preset), and a value given for a whole section.

    Examples:
        >>> from omegaconf import OmegaConf
        >>> from ppsci_ext.experiments.common import check_known_keys
        >>> cfg = OmegaConf.create({"TRAIN": {"n_critc": 5}})
        >>> try:  # doctest: +ELLIPSIS
        ...     check_known_keys(cfg, {"TRAIN": {"n_critic": None, "epochs": None}})
        ... except ValueError as e:
        ...     print(e)
        unknown config key TRAIN.n_critc (=5): did you mean TRAIN.n_critic? Correct it in the YAML file or on the ...
    """
    tree = OmegaConf.to_container(cfg, resolve=False)
    spec = _resolve_networks(cfg, tree, keys)
    every = list(_key_paths(spec))
    problems = []

    def walk(node: Dict[str, Any], section: Dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            key = str(key)
            path = f"{prefix}{key}"
            if key not in section:
                near = [prefix + m for m in difflib.get_close_matches(key, list(section), n=3, cutoff=0.6)]
                near += [p for p in every if p.rsplit(".", 1)[-1] == key]  # in another section
                near += difflib.get_close_matches(path, every, n=2, cutoff=0.8)
                near = list(dict.fromkeys(near))[:3]
                where = prefix[:-1] or "the top level"
                hint = (f"did you mean {' or '.join(near)}?" if near else
                        f"the keys of {where} are {', '.join(sorted(section))}.")
                problems.append(("unknown config key", f"{path} (={_short(value)}): {hint}"))
            elif isinstance(section[key], dict):
                if isinstance(value, dict):
                    walk(value, section[key], path + ".")
                else:
                    keys = ", ".join(f"{path}.{k}" for k in sorted(section[key]))
                    problems.append(("config key", f"{path}={_short(value)} is not valid: a section "
                                     f"(set its keys {keys} instead)."))

    walk(tree, spec, "")
    if len(problems) == 1:
        kind, text = problems[0]
        raise ConfigError(f"{kind} {text} Correct it in the YAML file or on the command line.")
    if problems:
        raise ConfigError(
            "config keys that cannot be used (nothing was run):\n  "
            + "\n  ".join(("unknown: " if kind.startswith("unknown") else "") + text
                           for kind, text in problems)
            + "\nCorrect them in the YAML file or on the command line."
        )


def _check_network_args(cfg: DictConfig) -> None:
    """Types and ranges of the network arguments in ``MODEL.generator`` and
    ``MODEL.critic``, read off the signature of the class each names."""
    for net in ("generator", "critic"):
        spec = cfg.MODEL[net]
        cls = _network_class(spec.get("name"), f"MODEL.{net}.name")
        for param in inspect.signature(cls).parameters.values():
            if param.name not in spec:
                continue
            key, value, default = f"MODEL.{net}.{param.name}", spec[param.name], param.default
            if param.name.endswith("_keys"):
                ok = value is None and default is None or (
                    (OmegaConf.is_list(value) or isinstance(value, (list, tuple))) and len(value) >= 1
                    and all(isinstance(v, str) and v for v in value))
                require(ok, key, value if not OmegaConf.is_list(value) else list(value),
                        "a list of names" + (" or null" if default is None else ""))
            elif isinstance(default, bool):
                require(isinstance(value, bool), key, value, "true or false")
            elif is_int(default):
                least = 0 if param.name == "num_classes" else 1
                require(is_int(value) and value >= least, key, value, f"an integer >= {least}")
            elif isinstance(default, float):
                require(is_number(value), key, value, "a finite number")
            elif isinstance(default, str):
                require(isinstance(value, str), key, value, "a string")


def check_config(cfg: DictConfig, keys: Optional[Dict[str, Any]] = None) -> None:
    """Check the adversarial-training keys before any work starts.

    Args:
        cfg (DictConfig): The composed config.
        keys (Optional[Dict[str, Any]]): The experiment's key schema
            (:func:`config_keys`); given, unknown keys are refused first
            (:func:`check_known_keys`).

    Raises:
        ConfigError: one message naming the key, its value and what is valid.
    """
    if keys is not None:
        check_known_keys(cfg, keys)
    require(isinstance(cfg.output_dir, str) and cfg.output_dir != "", "output_dir", cfg.output_dir,
            "a folder path")
    require(is_int(cfg.seed) and cfg.seed >= 0, "seed", cfg.seed, "an integer >= 0")
    require(is_int(cfg.log_freq) and cfg.log_freq >= 1, "log_freq", cfg.log_freq, "an integer >= 1")
    _check_network_args(cfg)
    loss = cfg.LOSS
    require(loss.name in LOSS_NAMES, "LOSS.name", loss.name, f"one of {', '.join(LOSS_NAMES)}")
    require(is_number(loss.penalty_weight) and loss.penalty_weight >= 0,
             "LOSS.penalty_weight", loss.penalty_weight, "a number >= 0 (the paper's lambda)")
    interval = loss.get("penalty_interval", 1)
    require(is_int(interval) and interval >= 1, "LOSS.penalty_interval", interval,
            "an integer >= 1 (critic steps per penalty evaluation; 1: every step, the paper's)")
    require(is_number(loss.clip_value) and loss.clip_value > 0,
             "LOSS.clip_value", loss.clip_value, "a number > 0")
    train = cfg.TRAIN
    require(is_int(train.n_critic) and train.n_critic >= 1,
             "TRAIN.n_critic", train.n_critic, "an integer >= 1")
    processes = train.get("processes", 1)
    require(is_int(processes) and processes >= 1, "TRAIN.processes", processes,
            "an integer >= 1 (CPU processes that share each batch; 1: this process alone)")
    require(processes == 1 or paddle.device.get_device() == "cpu", "TRAIN.processes", processes,
            "1 on a GPU (TRAIN.processes starts CPU processes; for several GPUs use "
            "python -m paddle.distributed.launch --gpus 0,1 ...)")
    for key in ("critic", "generator"):
        value = train.batch_size[key]
        require(is_int(value) and value >= 1, f"TRAIN.batch_size.{key}", value, "an integer >= 1")
        require(value % processes == 0, f"TRAIN.batch_size.{key}", value,
                f"a multiple of TRAIN.processes={processes} (each process takes an equal share "
                "of the batch)")
    for key in ("epochs", "iters_per_epoch"):
        require(is_int(train[key]) and train[key] >= 1, f"TRAIN.{key}", train[key], "an integer >= 1")
    opt = train.optimizer
    require(opt.name in OPTIMIZER_NAMES, "TRAIN.optimizer.name", opt.name,
             f"one of {', '.join(OPTIMIZER_NAMES)}")
    require(is_number(opt.learning_rate) and 0 < opt.learning_rate <= 1,
             "TRAIN.optimizer.learning_rate", opt.learning_rate, "a number in (0, 1]")
    critic_lr = opt.get("critic_learning_rate")
    require(critic_lr is None or (is_number(critic_lr) and 0 < critic_lr <= 1),
             "TRAIN.optimizer.critic_learning_rate", critic_lr,
             "null (the critic uses learning_rate) or a number in (0, 1]")
    for key in ("beta1", "beta2"):
        require(is_number(opt[key]) and 0 <= opt[key] < 1, f"TRAIN.optimizer.{key}", opt[key],
                 "a number in [0, 1)")
    require(opt.lr_decay in LR_DECAYS, "TRAIN.optimizer.lr_decay", opt.lr_decay,
             f"one of {', '.join(LR_DECAYS)}")
    require(train.on_nonfinite in ("stop", "skip"), "TRAIN.on_nonfinite", train.on_nonfinite,
             "stop or skip")
    require(not train.get("pretrained_model_path"), "TRAIN.pretrained_model_path",
             train.get("pretrained_model_path"),
             "null: a GAN has two networks; continue a run with TRAIN.checkpoint_path")
    require(isinstance(train.ema.use_ema, bool), "TRAIN.ema.use_ema", train.ema.use_ema, "true or false")
    if train.ema.use_ema:
        require(is_number(train.ema.decay) and 0 < train.ema.decay < 1,
                 "TRAIN.ema.decay", train.ema.decay, "a number in (0, 1)")
        require(is_int(train.ema.avg_freq) and train.ema.avg_freq >= 1, "TRAIN.ema.avg_freq",
                train.ema.avg_freq, "an integer >= 1")
    swa = train.get("swa")
    require(not (swa and swa.get("use_swa")), "TRAIN.swa.use_swa", swa and swa.get("use_swa"),
            "false: the generator's weight average is TRAIN.ema")
    require(train.get("update_freq", 1) == 1, "TRAIN.update_freq", train.get("update_freq"),
            "1 (the adversarial steps do not accumulate gradients)")
    require(is_int(train.save_freq) and train.save_freq >= 0, "TRAIN.save_freq", train.save_freq,
            "an integer >= 0 (epochs between checkpoints; 0: only at the end)")
    require(isinstance(train.eval_during_train, bool), "TRAIN.eval_during_train",
            train.eval_during_train, "true or false")
    if train.eval_during_train:
        require(is_int(train.eval_freq) and train.eval_freq >= 1, "TRAIN.eval_freq", train.eval_freq,
                "an integer >= 1")
    path = train.get("checkpoint_path")
    require(path is None or (isinstance(path, str) and path != ""), "TRAIN.checkpoint_path", path,
            "null or the path of a checkpoint (output_dir/checkpoints/latest.pdckpt)")
    resume = train.get("resume")
    require(resume in (None, "auto"), "TRAIN.resume", resume,
            "null or auto (continue from output_dir/checkpoints/latest.pdckpt when there is one)")
    overwrite = train.get("overwrite", False)
    require(isinstance(overwrite, bool), "TRAIN.overwrite", overwrite, "true or false")
    require(not (overwrite and resume == "auto"), "TRAIN.overwrite", overwrite,
            "false with TRAIN.resume=auto (continue the run in output_dir, or replace it: not both)")
    require(not cfg.EVAL.get("pretrained_model_path"), "EVAL.pretrained_model_path",
            cfg.EVAL.get("pretrained_model_path"),
            "null: a GAN has two networks; give EVAL.pretrained_gen_model_path")
    for key in ("num_samples", "batch_size"):
        value = cfg.INFER.get(key)
        require(is_int(value) and value >= 1, f"INFER.{key}", value, "an integer >= 1")


def _build_arch(spec: DictConfig):
    params = OmegaConf.to_container(spec, resolve=True)
    name = params.pop("name")
    cls = getattr(arch_module, name, None)
    if cls is None:
        raise ConfigError(f"MODEL: unknown network {name!r}; valid: {', '.join(arch_module.__all__)}")
    return cls(**params)


def build_networks(cfg: DictConfig):
    """The generator and critic named in ``cfg.MODEL``."""
    return _build_arch(cfg.MODEL.generator), _build_arch(cfg.MODEL.critic)


def _optimizer(cfg: DictConfig, model, lr: float):
    opt = cfg.TRAIN.optimizer
    if opt.lr_decay == "linear":
        lr = ppsci.optimizer.lr_scheduler.Linear(
            cfg.TRAIN.epochs, cfg.TRAIN.iters_per_epoch, lr, end_lr=0.0
        )()
    if opt.name == "Adam":
        # Paddle's multi-tensor Adam updates all parameters in one kernel call: 0.25
        # ms a step for the toy critic against 1.8-2.1 ms one tensor at a time (the
        # same arithmetic; ppsci.optimizer.Adam does not expose the switch).
        return paddle.optimizer.Adam(
            lr, beta1=opt.beta1, beta2=opt.beta2, parameters=model.parameters(),
            use_multi_tensor=True,
        )
    return ppsci.optimizer.RMSProp(lr)(model)


def per_process_batch(cfg: DictConfig, key: str) -> int:
    """This process's share of ``TRAIN.batch_size.<key>`` (the batch of one step, in
    all processes together).

    Raises:
        ConfigError: the batch does not split evenly between the processes.
    """
    total, world = cfg.TRAIN.batch_size[key], paddle.distributed.get_world_size()
    require(total % world == 0, f"TRAIN.batch_size.{key}", total,
            f"a multiple of the {world} processes running (each takes an equal share of the batch)")
    return total // world


def build_solver(
    cfg: DictConfig,
    generator,
    critic,
    real_input: Dict[str, np.ndarray],
    real_label: Optional[Dict[str, np.ndarray]] = None,
    validator=None,
    real_transform=None,
    callbacks=(),
    extra_state=None,
) -> WGANSolver:
    """A :class:`WGANSolver` for the networks and real data, as ``cfg`` says.

    ``LOSS.name=wgan_gp`` is the paper's recipe (penalty, no clipping);
    ``wgan_clip`` the original WGAN (no penalty, weights clipped to
    ``LOSS.clip_value`` after each critic step; RMSProp is the usual optimiser).
    """
    # --8<-- [start:build_solver]
    clipping = cfg.LOSS.name == "wgan_clip"
    # The configured batches are totals: each process takes an equal share.
    critic_batch, generator_batch = (per_process_batch(cfg, key) for key in ("critic", "generator"))
    constraint = ppsci.constraint.SupervisedConstraint(
        {
            "dataset": {"name": "NamedArrayDataset", "input": real_input, "label": real_label or {}},
            "batch_size": critic_batch,
        },
        CriticLoss(
            penalty_weight=0.0 if clipping else cfg.LOSS.penalty_weight,
            class_weight=cfg.LOSS.get("critic_class_weight", 0.0) if critic.num_classes else 0.0,
        ),
        name="critic",
    )
    return WGANSolver(
        generator,
        critic,
        constraint,
        GeneratorLoss(
            class_weight=cfg.LOSS.get("generator_class_weight", 0.0) if critic.num_classes else 0.0
        ),
        _optimizer(cfg, generator, cfg.TRAIN.optimizer.learning_rate),
        # a critic rate of its own: the two time-scale update rule (TTUR)
        _optimizer(cfg, critic, cfg.TRAIN.optimizer.get("critic_learning_rate")
                   or cfg.TRAIN.optimizer.learning_rate),
        critic_batch_size=critic_batch,
        n_critic=cfg.TRAIN.n_critic,
        penalty_interval=cfg.LOSS.get("penalty_interval", 1),
        generator_batch_size=generator_batch,
        real_transform=real_transform,
        clip_value=cfg.LOSS.clip_value if clipping else None,
        on_nonfinite=cfg.TRAIN.on_nonfinite,
        callbacks=callbacks,
        extra_state=extra_state,
        validator=validator,
        cfg=cfg,
    )
    # --8<-- [end:build_solver]


def _no_loss(output_dict, label_dict=None, weight_dict=None):
    return {"none": paddle.zeros([])}


def sample_validator(generator, num_samples: int, metric, seed: int, batch_size: int = 1024):
    """A ``ppsci.validate.SupervisedValidator`` that feeds ``num_samples`` fixed noise
    vectors (seeded) to the generator and scores its samples with ``metric`` (a
    ``FunctionalMetric`` over the generator's output key)."""
    rng = np.random.default_rng(seed)
    inputs = {generator.input_keys[0]: rng.standard_normal((num_samples, generator.noise_dim)).astype("float32")}
    if generator.is_conditional:
        inputs[generator.input_keys[1]] = rng.integers(0, generator.num_classes, num_samples).astype("int64")
    return ppsci.validate.SupervisedValidator(
        {"dataset": {"name": "NamedArrayDataset", "input": inputs}, "batch_size": batch_size},
        ppsci.loss.FunctionalLoss(_no_loss),
        {generator.output_keys[0]: lambda out: out[generator.output_keys[0]]},
        {"samples": metric},
        name="generator",
    )


def _data_source(cfg: DictConfig) -> str:
    data = cfg.get("DATA") or {}
    if "data_path" in data:
        return f"DATA.data_path={data.data_path!r}" if data.data_path else \
            "The default training data (DATA.data_path=null)"
    return "The generated training data" + (f" (DATA.mode={data.mode})" if "mode" in data else "")


def _count_nonfinite(values: np.ndarray) -> Tuple[int, int, int]:
    """(non-finite values, samples holding one, index of the first such sample),
    counted in chunks so a large float array needs no full-size mask."""
    if values.dtype.kind not in "fc" or values.size == 0:
        return 0, 0, -1
    per_row = max(1, values.size // max(1, len(values)))
    step = max(1, (1 << 22) // per_row)
    bad = rows = 0
    first = -1
    for start in range(0, len(values), step):
        finite = np.isfinite(values[start : start + step]).reshape(min(step, len(values) - start), -1)
        row_ok = finite.all(axis=1)
        if not row_ok.all():
            bad += int(finite.size - np.count_nonzero(finite))
            rows += int(len(row_ok) - np.count_nonzero(row_ok))
            if first < 0:
                first = start + int(np.argmin(row_ok))
    return bad, rows, first


def check_real_data(
    real_input: Dict[str, np.ndarray],
    real_label: Optional[Dict[str, np.ndarray]],
    generator,
    critic_key: str,
    source: str = "The training data",
) -> None:
    """Refuse training data with NaN or infinite values, or with samples of another
    shape than the generator makes (an image size the networks do not fit).

    NaN must be caught here: Paddle's ReLU maps NaN to 0, so NaN pixels can pass
    through a critic as finite numbers and never show up as a non-finite loss.

    Raises:
        DataError: naming ``source``, the array, and the count of bad values (or the
            two shapes).

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.arch import ToyGenerator
        >>> from ppsci_ext.experiments.common import check_real_data
        >>> x = np.zeros((100, 2), "float32"); x[[3, 7], 1] = np.nan
        >>> try:
        ...     check_real_data({"x": x}, None, ToyGenerator(hidden_dim=4), "x", "points.npy")
        ... except ValueError as e:
        ...     print(str(e).split(", in")[0])
        points.npy: 2 non-finite values (NaN or inf) in the training input 'x'
    """
    for part, arrays in (("input", real_input), ("label", real_label or {})):
        for key, values in arrays.items():
            values = np.asarray(values)
            bad, rows, first = _count_nonfinite(values)
            if bad:
                raise DataError(
                    f"{source}: {bad} non-finite values (NaN or inf) in the training {part} "
                    f"{key!r}, in {rows} of its {len(values)} samples (the first: sample "
                    f"{first}). Paddle's ReLU turns NaN into 0, so training would not stop on "
                    "them but learn from garbage: fix or drop those samples."
                )
    shape = tuple(int(d) for d in np.shape(real_input[critic_key])[1:])
    expected = tuple(int(d) for d in generator.sample_shape)
    if shape != expected:
        raise DataError(
            f"{source}: the training samples ({critic_key!r}) have shape {list(shape)}, but "
            f"MODEL.generator ({type(generator).__name__}) makes samples of shape "
            f"{list(expected)} and the critic takes the same: the networks do not fit this "
            "data. Give data of that shape, or MODEL settings for this one."
        )


def train(
    cfg: DictConfig, real_input, real_label=None, validator=None, real_transform=None, callbacks=(),
    data_source: Optional[str] = None, extra_state: Optional[Dict[str, Any]] = None,
) -> WGANSolver:
    """Seed, build and train; each process draws its own noise (seed + rank).

    Before anything is built, :func:`prepare_training_run` checks ``output_dir`` (and
    decides whether the run continues a checkpoint) and :func:`check_real_data` the
    data (``data_source`` names them in errors; default: from ``DATA``).

    ``validator`` is a dict of ppsci validators, or a function of the generator
    returning one (see :func:`sample_validator`); it runs every
    ``TRAIN.eval_freq`` epochs when ``TRAIN.eval_during_train`` is on. ``extra_state``
    (plain Python values) is stored in every checkpoint as ``"extra"``."""
    global _prepared
    if _prepared != (id(cfg), cfg.output_dir):
        prepare_training_run(cfg)
    _prepared = None  # used once: a later call checks the folder again
    misc.set_random_seed(cfg.seed + paddle.distributed.get_rank())
    generator, critic = build_networks(cfg)
    check_real_data(real_input, real_label, generator, critic.input_keys[0],
                    data_source or _data_source(cfg))
    if callable(validator):  # built from the generator
        validator = validator(generator)
    solver = build_solver(cfg, generator, critic, real_input, real_label, validator, real_transform,
                          callbacks, extra_state)
    solver.train()
    return solver


USER_ERRORS = (ConfigError, DataError, ckpt.CheckpointError, ckpt.WriteError, FileNotFoundError)


def run_mode(cfg: DictConfig, modes: Dict[str, Any], check=None):
    """Run ``check(cfg)``, then ``modes[cfg.mode](cfg)``; a mistake the user can fix (a
    bad config value, a missing or unfitting file, a non-finite loss) ends the program
    with its one message and exit code 2 instead of a traceback."""
    import sys

    from omegaconf import errors as oc_errors

    from ppsci_ext.solver import NonFiniteLossError

    try:
        try:
            if cfg.mode not in modes:
                raise ConfigError(f"mode={cfg.mode!r} is not valid: one of {', '.join(modes)}")
            if check is not None:
                check(cfg)
            if cfg.mode == "train":
                prepare_training_run(cfg)
                if processes.process_count(cfg) > 1 and not processes.launched():
                    return processes.train_in_processes(cfg, modes["train"])
            return modes[cfg.mode](cfg)
        except (oc_errors.ConfigAttributeError, oc_errors.ConfigKeyError,
                oc_errors.MissingMandatoryValue, oc_errors.InterpolationResolutionError) as exc:
            # a key deleted from (or misspelt in) a YAML file, or a broken ${...}
            key = getattr(exc, "full_key", None) or "?"
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"config key {key} is missing or cannot be resolved ({reason}); "
                              "restore it in the YAML file or set it on the command line "
                              f"(+{key}=...)") from exc
    except USER_ERRORS + (NonFiniteLossError,) as exc:
        logger.error(str(exc))
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def load_weights(model, path: Optional[str], what: str, key: str):
    """Load a ``.pdparams`` into ``model`` and return the network to use.

    The file may be in this package's layout, or in a PaddleScience layout
    (:mod:`ppsci_ext.compat`): a layout whose computation differs from the paper's
    networks (PaddleScience's CIFAR-10 upsampling and normalisation) comes back as
    a network built with that variant. Anything else is refused with the names and
    shapes that do not fit; nothing is loaded partially."""
    if not path:
        raise ConfigError(f"{key} is required for mode=eval: the path of the {what} .pdparams file")
    state = ckpt.load_file(path, f"{what} weights ({key})")
    if not isinstance(state, dict):
        raise ckpt.CheckpointError(f"{path!r} holds a {type(state).__name__}, not a state dict")
    if set(state) != set(model.state_dict()):
        adapted = paddlescience.adapt(state, model)
        if adapted is not None:
            wanted, (model, state, layout) = model, adapted
            note = _width_note(wanted, state, what, "the file's settings are used")
            logger.message(f"{path}: read PaddleScience layout '{layout}'" + (f" ({note})" if note else ""))
    try:
        ckpt.load_state_dict_strict(model, state, f"{what} weights {path!r} ({key})")
    except ckpt.CheckpointError as exc:
        note = _width_note(model, state, what, "add that to the command")
        if not note:
            raise
        raise ckpt.CheckpointError(f"{exc}\n  {note[0].upper()}{note[1:]}.") from exc
    return model


def _width_note(model, state: Dict[str, Any], what: str, advice: str) -> str:
    """``"the file holds MODEL.generator.dim=64; the config has dim 16: <advice>"`` when
    the widths (or other settings: ``batch_norm``) a state dict was saved with (the
    network class's ``settings_in``) differ from ``model``'s; '' otherwise or when
    the class cannot tell."""
    settings_in = getattr(type(model), "settings_in", None)
    saved = settings_in(state) if settings_in else {}
    differ = {k: v for k, v in saved.items() if getattr(model, k, v) != v}
    if not differ:
        return ""
    held = ", ".join(f"MODEL.{what}.{k}={v}" for k, v in differ.items())
    configured = ", ".join(f"{k} {getattr(model, k)}" for k in differ)
    return f"the file holds {held}; the config has {configured}: {advice}"


def load_network(cfg: DictConfig, role: str, path: Optional[str], key: str):
    """The ``role`` network (``"generator"`` or ``"critic"``) that ``cfg.MODEL`` names,
    with the weights at ``path`` loaded by :func:`load_weights` (``key``: the config
    key that gave the path, for messages), in eval mode."""
    model = load_weights(_build_arch(cfg.MODEL[role]), path, role, key)
    model.eval()
    return model


def load_generator(config, weights: str):
    """Build the generator a config names and load weights into it, in eval mode.

    Args:
        config: A ``DictConfig``, or the path of a YAML file with a ``MODEL`` section
            (an experiment's config under ``conf/``, or a run's ``.hydra/config.yaml``).
        weights: A generator ``.pdparams`` (this package's or PaddleScience's layout).

    Examples:
        >>> from ppsci_ext.experiments.common import load_generator, sample
        >>> gen = load_generator("conf/wgangp_toy.yaml", "model_generator.pdparams")  # doctest: +SKIP
        >>> points = sample(gen, 1000, seed=0)  # doctest: +SKIP
    """
    cfg = OmegaConf.load(config) if isinstance(config, (str, os.PathLike)) else config
    return load_network(cfg, "generator", weights, "weights")


@paddle.no_grad()
def sample(
    generator,
    num_samples: Optional[int] = None,
    *,
    noise: Optional[np.ndarray] = None,
    labels: Optional[Sequence[int]] = None,
    seed: Optional[int] = None,
    batch_size: int = 1024,
) -> np.ndarray:
    """Draw samples from a generator as a numpy array, in batches.

    Give ``num_samples`` (standard normal noise, seeded with ``seed``) or ``noise``
    (``[N, noise_dim]``). A conditional generator takes ``labels`` (N class indices);
    without them the classes are drawn uniformly.

    Examples:
        >>> from ppsci_ext.arch import ToyGenerator
        >>> from ppsci_ext.experiments.common import sample
        >>> sample(ToyGenerator(hidden_dim=8), 5, seed=0).shape
        (5, 2)
    """
    rng = np.random.default_rng(seed)
    if noise is None:
        if not num_samples or num_samples < 1:
            raise ValueError("give num_samples >= 1 or noise")
        noise = rng.standard_normal((num_samples, generator.noise_dim)).astype("float32")
    noise = np.asarray(noise, dtype="float32")
    if noise.ndim != 2 or noise.shape[1] != generator.noise_dim:
        raise ValueError(f"noise must be [N, {generator.noise_dim}], got {list(noise.shape)}")
    if generator.is_conditional:
        if labels is None:
            labels = rng.integers(0, generator.num_classes, len(noise))
        labels = np.asarray(labels, dtype="int64").reshape(-1)
        if len(labels) != len(noise) or labels.min() < 0 or labels.max() >= generator.num_classes:
            raise ValueError(
                f"labels must be {len(noise)} class indices in [0, {generator.num_classes})"
            )
    was_training = generator.training
    generator.eval()
    out = []
    for start in range(0, len(noise), batch_size):
        inputs = {generator.input_keys[0]: paddle.to_tensor(noise[start : start + batch_size])}
        if generator.is_conditional:
            inputs[generator.input_keys[1]] = paddle.to_tensor(labels[start : start + batch_size])
        out.append(generator(inputs)[generator.output_keys[0]].numpy())
    if was_training:
        generator.train()
    return np.concatenate(out)


def export_generator(cfg: DictConfig, generator) -> str:
    """Save ``generator`` as a Paddle inference model at ``INFER.export_path``
    (``.json``/``.pdmodel`` and ``.pdiparams``), with a dynamic batch axis."""
    from paddle.static import InputSpec

    spec = {generator.input_keys[0]: InputSpec([None, generator.noise_dim], "float32",
                                                name=generator.input_keys[0])}
    if generator.is_conditional:
        spec[generator.input_keys[1]] = InputSpec([None], "int64", name=generator.input_keys[1])
    # a wrapper's further float inputs (critic_langevin.LangevinStep's injected noise and settings)
    for name, shape in getattr(generator, "extra_input_shapes", {}).items():
        spec[name] = InputSpec([None, *shape], "float32", name=name)
    generator.eval()
    # A Solver built earlier in this process (training from Python) switches
    # dynamic-to-static conversion off globally; paddle.jit.save needs it on.
    paddle.jit.enable_to_static(True)
    static = paddle.jit.to_static(generator, input_spec=[spec], full_graph=True)
    folder = os.path.dirname(cfg.INFER.export_path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    paddle.jit.save(static, cfg.INFER.export_path)
    logger.message(f"Exported the generator to {cfg.INFER.export_path} (Paddle inference model)")
    return cfg.INFER.export_path


def infer_samples(cfg: DictConfig, noise_dim: int, num_classes: int = 0):
    """Draw ``INFER.num_samples`` samples from an exported generator with Paddle
    Inference, seeded by ``seed``, in batches of ``INFER.batch_size``.

    Returns ``(samples, labels)``; ``labels`` (the classes drawn uniformly for a
    conditional generator) is None for an unconditional one.
    """
    outputs, labels = infer_outputs(cfg, noise_dim, cfg.INFER.num_samples, num_classes)
    return outputs[0], labels


def inference_predictor(cfg: DictConfig):
    """A Paddle Inference predictor of the model ``INFER`` exported, on
    ``INFER.device``.

    Configured here rather than by PaddleScience's ``deploy.python_infer``: that one
    turns on memory optimisation, which fails in Paddle 3.3.1 ("Not find
    predictor_id 0 and pass_name memory_optimize_pass")."""
    from paddle import inference

    model_path = cfg.INFER.pdmodel_path
    if paddle.framework.use_pir_api():
        model_path = model_path.replace(".pdmodel", ".json", 1)
    for key, path in (("pdmodel_path", model_path), ("pdiparams_path", cfg.INFER.pdiparams_path)):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"INFER.{key}: {path!r} does not exist: run mode=export first (it writes "
                f"INFER.export_path={cfg.INFER.export_path!r})."
            )
    config = inference.Config(model_path, cfg.INFER.pdiparams_path)
    if cfg.INFER.device == "gpu":
        config.enable_use_gpu(cfg.INFER.gpu_mem, cfg.INFER.gpu_id)
    else:
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(cfg.INFER.num_cpu_threads)
        if cfg.INFER.engine != "mkldnn":
            # oneDNN is on by default on CPU; its conv + batch-norm fusion fails to load
            # the conditional CIFAR-10 generator in Paddle 3.3.1.
            config.disable_mkldnn()
    config.switch_ir_optim(cfg.INFER.ir_optim)
    return inference.create_predictor(config)


def infer_outputs(cfg: DictConfig, noise_dim: int, num_samples: int, num_classes: int = 0,
                  predictor=None):
    """Run the exported model of ``INFER`` (or ``predictor``, made by
    :func:`inference_predictor`) on ``num_samples`` noise vectors (seeded by
    ``seed``, in batches of ``INFER.batch_size``).

    Returns ``(outputs, labels)``: every output of the model as a numpy array (the
    samples first; an export with its critic adds the critic's scores), and the
    classes drawn uniformly for a conditional generator (None for an unconditional one).
    """
    if predictor is None:
        predictor = inference_predictor(cfg)
    rng = np.random.default_rng(cfg.seed)
    n = num_samples
    inputs = {cfg.MODEL.generator.input_keys[0]: rng.standard_normal((n, noise_dim)).astype("float32")}
    labels = rng.integers(0, num_classes, n).astype("int64") if num_classes else None
    if num_classes:
        inputs[cfg.MODEL.generator.input_keys[1]] = labels
    return run_predictor(predictor, inputs, cfg.INFER.batch_size), labels


def run_predictor(predictor, inputs: Dict[str, np.ndarray], batch_size: int):
    """Every output of a Paddle Inference ``predictor`` on ``inputs`` (arrays by
    input name, with as many rows each), fed ``batch_size`` rows at a time."""
    n = len(next(iter(inputs.values())))
    outputs = [predictor.get_output_handle(name) for name in predictor.get_output_names()]
    batches = [[] for _ in outputs]
    for start in range(0, n, batch_size):
        for name, values in inputs.items():
            predictor.get_input_handle(name).copy_from_cpu(values[start : start + batch_size])
        predictor.run()
        for handle, got in zip(outputs, batches):
            got.append(handle.copy_to_cpu())
    return [np.concatenate(got) for got in batches]


def critic_values(critic, points: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Critic scores of ``points`` as a flat numpy array."""
    with paddle.no_grad():
        return np.concatenate(
            [
                critic({critic.input_keys[0]: paddle.to_tensor(points[s : s + batch_size])})[
                    critic.output_keys[0]
                ].numpy().reshape(-1)
                for s in range(0, len(points), batch_size)
            ]
        )


def _probe_writable(folder: str, key: str) -> None:
    import tempfile

    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write_test.", dir=folder)
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
            os.remove(probe)
    except OSError as exc:
        raise ConfigError(
            f"{key}={folder!r} cannot be written to ({exc.strerror or exc}); nothing was "
            "run. Choose a folder you can write to, or free space on its disk."
        ) from exc


def prepare_output_dir(cfg: DictConfig) -> str:
    """Create ``output_dir`` and check it can be written to, before any work."""
    out = cfg.output_dir
    _probe_writable(out, "output_dir")
    return out


#: Files that show a folder holds a training run.
RUN_FILES = ("checkpoints/latest.pdckpt", "model_generator.pdparams", "model_discriminator.pdparams")

# (id of the config, output_dir) that prepare_training_run last passed, so that
# common.train does not repeat what run_mode did just before.
_prepared: Optional[Tuple[int, str]] = None


def prepare_training_run(cfg: DictConfig) -> Optional[str]:
    """Before training into ``output_dir``: check it (and its ``checkpoints`` folder)
    can be written, remove temporary files that a process killed while saving left
    there, and decide whether this run continues a checkpoint.

    - ``TRAIN.checkpoint_path``: continue from that checkpoint (it must exist).
    - ``TRAIN.resume=auto``: continue from ``output_dir/checkpoints/latest.pdckpt``
      when there is one (``TRAIN.checkpoint_path`` is set to it), else start afresh.
    - Otherwise a folder that holds another run (:data:`RUN_FILES`) is refused unless
      ``TRAIN.overwrite=true``; its files are then replaced only as the new run writes
      its own (every file is written to a temporary name and renamed), so a checkpoint
      is never removed before the new run has one.

    Returns:
        The checkpoint the run continues from, or None.

    Raises:
        ConfigError: the folder cannot be written, or holds another run.
        FileNotFoundError: ``TRAIN.checkpoint_path`` names no file.
    """
    global _prepared
    out = cfg.output_dir
    _probe_writable(out, "output_dir")
    checkpoints = os.path.join(out, "checkpoints")
    if os.path.exists(checkpoints):
        require(os.path.isdir(checkpoints), "output_dir", out,
                f"a folder whose 'checkpoints' is a folder ({checkpoints!r} is a file)")
        _probe_writable(checkpoints, "output_dir/checkpoints")
    if paddle.distributed.get_rank() == 0:
        stale = ckpt.remove_stale_temp_files(out) + ckpt.remove_stale_temp_files(checkpoints)
        if stale:
            logger.message(f"Removed {len(stale)} partial file(s) an interrupted save left: {stale}")

    train = cfg.TRAIN
    latest = os.path.join(checkpoints, "latest.pdckpt")
    existing = [name for name in RUN_FILES if os.path.isfile(os.path.join(out, name))]
    overwrite = bool(train.get("overwrite", False))
    given = train.get("checkpoint_path")
    resume_from = None
    if given:
        resume_from = ckpt.checkpoint_file(given)
        if not os.path.isfile(resume_from):
            raise FileNotFoundError(
                f"TRAIN.checkpoint_path={given!r}: no checkpoint at {resume_from!r}. Give the "
                "path of a run's checkpoints/latest.pdckpt, or use TRAIN.resume=auto to "
                "continue the run in output_dir when it has one."
            )
        own = os.path.isfile(latest) and os.path.samefile(resume_from, latest)
        if existing and not own and not overwrite:
            raise ConfigError(_in_use(out, existing, latest, f"TRAIN.checkpoint_path={given!r} is "
                                      "another run's checkpoint, and "))
    elif train.get("resume") == "auto" and os.path.isfile(latest):
        train.checkpoint_path = resume_from = latest
        logger.message(f"TRAIN.resume=auto: continuing the run in {out} from {latest}")
    elif existing and not overwrite:
        raise ConfigError(_in_use(out, existing, latest, ""))
    elif existing:
        logger.warning(f"TRAIN.overwrite=true: a new run in {out}; the files of the run there "
                       f"({', '.join(existing)}) are replaced as this run writes its own.")
    _prepared = (id(cfg), out)
    return resume_from


def _in_use(out: str, existing: Sequence[str], latest: str, why: str) -> str:
    can_resume = os.path.isfile(latest)
    return (
        f"{why}output_dir={out!r} already holds another run ({', '.join(existing)}); a new "
        "run there would replace its files, so nothing was run. "
        + (f"To continue that run, add TRAIN.resume=auto (or TRAIN.checkpoint_path={latest}); "
           if can_resume else "It has no checkpoint to continue from. ")
        + "to start a new run in its place, add TRAIN.overwrite=true (its files are replaced "
        "only as the new run writes its own); or choose another output_dir."
    )


def shape_of(x) -> Tuple[int, ...]:
    return tuple(int(d) for d in x.shape)
