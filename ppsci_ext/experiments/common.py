"""What every experiment shares: config checks, building networks, optimisers and
the solver from a config, loading weights, and drawing samples.

An experiment (toy, MNIST, CIFAR-10) adds only its data and its evaluation; the
networks are named in ``MODEL`` and the training recipe in ``LOSS`` and ``TRAIN``.
"""

from __future__ import annotations

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
from ppsci_ext.loss import CriticLoss
from ppsci_ext.loss import GeneratorLoss
from ppsci_ext.solver import WGANSolver
from ppsci_ext.solver import checkpoint as ckpt

__all__ = [
    "ConfigError",
    "check_config",
    "build_networks",
    "build_solver",
    "load_weights",
    "load_generator",
    "sample",
]

LOSS_NAMES = ("wgan_gp", "wgan_clip")
OPTIMIZER_NAMES = ("Adam", "RMSProp")
LR_DECAYS = ("none", "linear")


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and what is valid."""


def require(ok: bool, key: str, value: Any, valid: str) -> None:
    """Raise :class:`ConfigError` ``"{key}={value!r} is not valid: {valid}"`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key}={value!r} is not valid: {valid}")


def is_int(v) -> bool:
    """An int that is not a bool (YAML's ``true`` is not a batch size)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_config(cfg: DictConfig) -> None:
    """Check the adversarial-training keys before any work starts."""
    loss = cfg.LOSS
    require(loss.name in LOSS_NAMES, "LOSS.name", loss.name, f"one of {', '.join(LOSS_NAMES)}")
    require(is_number(loss.penalty_weight) and loss.penalty_weight >= 0,
             "LOSS.penalty_weight", loss.penalty_weight, "a number >= 0 (the paper's lambda)")
    require(is_number(loss.clip_value) and loss.clip_value > 0,
             "LOSS.clip_value", loss.clip_value, "a number > 0")
    train = cfg.TRAIN
    require(is_int(train.n_critic) and train.n_critic >= 1,
             "TRAIN.n_critic", train.n_critic, "an integer >= 1")
    for key in ("critic", "generator"):
        value = train.batch_size[key]
        require(is_int(value) and value >= 1, f"TRAIN.batch_size.{key}", value, "an integer >= 1")
    for key in ("epochs", "iters_per_epoch"):
        require(is_int(train[key]) and train[key] >= 1, f"TRAIN.{key}", train[key], "an integer >= 1")
    opt = train.optimizer
    require(opt.name in OPTIMIZER_NAMES, "TRAIN.optimizer.name", opt.name,
             f"one of {', '.join(OPTIMIZER_NAMES)}")
    require(is_number(opt.learning_rate) and opt.learning_rate > 0,
             "TRAIN.optimizer.learning_rate", opt.learning_rate, "a number > 0")
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
    if train.ema.use_ema:
        require(is_number(train.ema.decay) and 0 < train.ema.decay < 1,
                 "TRAIN.ema.decay", train.ema.decay, "a number in (0, 1)")


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


def _optimizer(cfg: DictConfig, model):
    opt = cfg.TRAIN.optimizer
    lr = opt.learning_rate
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


def build_solver(
    cfg: DictConfig,
    generator,
    critic,
    real_input: Dict[str, np.ndarray],
    real_label: Optional[Dict[str, np.ndarray]] = None,
    validator=None,
    real_transform=None,
    callbacks=(),
) -> WGANSolver:
    """A :class:`WGANSolver` for the networks and real data, as ``cfg`` says.

    ``LOSS.name=wgan_gp`` is the paper's recipe (penalty, no clipping);
    ``wgan_clip`` the original WGAN (no penalty, weights clipped to
    ``LOSS.clip_value`` after each critic step; RMSProp is the usual optimiser).
    """
    clipping = cfg.LOSS.name == "wgan_clip"
    constraint = ppsci.constraint.SupervisedConstraint(
        {
            "dataset": {"name": "NamedArrayDataset", "input": real_input, "label": real_label or {}},
            "batch_size": cfg.TRAIN.batch_size.critic,
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
        _optimizer(cfg, generator),
        _optimizer(cfg, critic),
        critic_batch_size=cfg.TRAIN.batch_size.critic,
        n_critic=cfg.TRAIN.n_critic,
        generator_batch_size=cfg.TRAIN.batch_size.generator,
        real_transform=real_transform,
        clip_value=cfg.LOSS.clip_value if clipping else None,
        on_nonfinite=cfg.TRAIN.on_nonfinite,
        callbacks=callbacks,
        validator=validator,
        cfg=cfg,
    )


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


def train(
    cfg: DictConfig, real_input, real_label=None, validator=None, real_transform=None, callbacks=()
) -> WGANSolver:
    """Seed, build and train; each process draws its own noise (seed + rank).

    ``validator`` is a dict of ppsci validators, or a function of the generator
    returning one (see :func:`sample_validator`); it runs every
    ``TRAIN.eval_freq`` epochs when ``TRAIN.eval_during_train`` is on."""
    misc.set_random_seed(cfg.seed + paddle.distributed.get_rank())
    generator, critic = build_networks(cfg)
    if callable(validator):  # built from the generator
        validator = validator(generator)
    solver = build_solver(cfg, generator, critic, real_input, real_label, validator, real_transform,
                          callbacks)
    solver.train()
    return solver


USER_ERRORS = (ConfigError, ckpt.CheckpointError, FileNotFoundError)


def run_mode(cfg: DictConfig, modes: Dict[str, Any], check=None):
    """Run ``check(cfg)``, then ``modes[cfg.mode](cfg)``; a mistake the user can fix (a
    bad config value, a missing or unfitting file, a non-finite loss) ends the program
    with its one message and exit code 2 instead of a traceback."""
    import sys

    from ppsci_ext.solver import NonFiniteLossError

    try:
        if cfg.mode not in modes:
            raise ConfigError(f"mode={cfg.mode!r} is not valid: one of {', '.join(modes)}")
        if check is not None:
            check(cfg)
        return modes[cfg.mode](cfg)
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
            model, state, layout = adapted
            logger.message(f"{path}: read PaddleScience layout '{layout}'")
    ckpt.load_state_dict_strict(model, state, f"{what} weights {path!r} ({key})")
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
    generator = load_weights(_build_arch(cfg.MODEL.generator), weights, "generator", "weights")
    generator.eval()
    return generator


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
    generator.eval()
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

    The predictor is configured here rather than by PaddleScience's
    ``deploy.python_infer``: that one turns on memory optimisation, which fails in
    Paddle 3.3.1 ("Not find predictor_id 0 and pass_name memory_optimize_pass")."""
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
    predictor = inference.create_predictor(config)

    rng = np.random.default_rng(cfg.seed)
    n = cfg.INFER.num_samples
    inputs = {cfg.MODEL.generator.input_keys[0]: rng.standard_normal((n, noise_dim)).astype("float32")}
    labels = rng.integers(0, num_classes, n).astype("int64") if num_classes else None
    if num_classes:
        inputs[cfg.MODEL.generator.input_keys[1]] = labels
    output = predictor.get_output_handle(predictor.get_output_names()[0])
    batches = []
    for start in range(0, n, cfg.INFER.batch_size):
        for name, values in inputs.items():
            predictor.get_input_handle(name).copy_from_cpu(values[start : start + cfg.INFER.batch_size])
        predictor.run()
        batches.append(output.copy_to_cpu())
    return np.concatenate(batches), labels


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


def prepare_output_dir(cfg: DictConfig) -> str:
    """Create ``output_dir`` and check it can be written to, before any work."""
    out = cfg.output_dir
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".write_test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as exc:
        raise ConfigError(f"output_dir={out!r} cannot be written to: {exc}") from exc
    return out


def shape_of(x) -> Tuple[int, ...]:
    return tuple(int(d) for d in x.shape)
