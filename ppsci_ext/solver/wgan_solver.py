"""One ``ppsci.solver.Solver`` that trains a generator against a critic.

The Solver holds both networks as a ``ppsci.arch.ModelList`` and both optimisers as
a ``ppsci.optimizer.OptimizerList``, so ppsci's device handling, AMP decoration,
``paddle.DataParallel`` wrapping, VisualDL / TensorBoard / wandb writers, validators
and logger serve the adversarial schedule unchanged. Real data comes from a
``ppsci.constraint.SupervisedConstraint`` that also carries the critic loss.

What differs from ppsci's own training loop, and why:

- :func:`adversarial_epoch_func` replaces ``train_epoch_func``: one iteration is
  ``n_critic`` critic steps, each on a fresh real batch and a detached fake batch,
  then one generator step with the critic frozen.
- ``train`` is overridden because a resumable GAN checkpoint holds more than ppsci's
  (model, optimizer, metric) triple: both schedules, the generator's moving average,
  the iteration counter, the random states and the position in the data, written
  as one file with an atomic rename.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import itertools
import math
import os
import random
import time
from typing import Callable
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence

import numpy as np
import paddle
import ppsci
from paddle import nn
from paddle.distributed.fleet.utils import hybrid_parallel_util as hpu
from ppsci.utils import ema
from ppsci.utils import logger

from ppsci_ext.arch.base import CriticArch
from ppsci_ext.arch.base import GeneratorArch
from ppsci_ext.data.sampler import EpochShuffleSampler
from ppsci_ext.loss.wasserstein import clip_weights_
from ppsci_ext.loss.wasserstein import gradient_norm
from ppsci_ext.loss.wasserstein import interpolate
from ppsci_ext.solver import checkpoint as ckpt

__all__ = ["WGANSolver", "NonFiniteLossError", "adversarial_epoch_func"]

CHECKPOINT_FORMAT = "ppsci_ext.wgan_checkpoint.v1"
GENERATOR_FILE = "model_generator.pdparams"
CRITIC_FILE = "model_discriminator.pdparams"
#: What a checkpoint must hold to be resumed from.
CHECKPOINT_KEYS = ("global_step", "generator", "critic", "optimizer_generator", "optimizer_critic",
                   "generator_ema", "rng", "data", "history")
HISTORY_KEYS = (
    "iteration",
    "critic_loss",
    "wasserstein",
    "penalty",
    "grad_norm",
    "generator_loss",
    "lr",
)


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class GeneratorEMA(ema.ExponentialMovingAverage):
    """``ppsci.utils.ema.ExponentialMovingAverage`` that also averages the tensors
    no gradient reaches (batch norms' running statistics, which Paddle keeps as
    parameters with ``stop_gradient``). ppsci's skips them, yet its ``apply_shadow``
    swaps them too, so a generator with running statistics (ResNet32Generator's
    unconditional batch norms) would be sampled and saved with their initial
    values, mean 0 and variance 1.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.solver.wgan_solver import GeneratorEMA
        >>> norm = paddle.nn.BatchNorm2D(2)
        >>> average = GeneratorEMA(norm, 0.5)
        >>> _ = norm(paddle.full([4, 2, 3, 3], 10.0)); average.update()
        >>> average.apply_shadow(); norm._mean.numpy().round(4).tolist()
        [0.5, 0.5]
    """

    def update(self):
        with paddle.no_grad():
            for name, tensor in itertools.chain(self.model.named_parameters(),
                                                self.model.named_buffers()):
                if tensor.stop_gradient and paddle.is_floating_point(tensor):
                    self._update_fn_(self.params_shadow[name], tensor, self.n_avg)
        super().update()


def _sum_terms(terms: Dict[str, paddle.Tensor]) -> paddle.Tensor:
    return paddle.add_n(list(terms.values())) if len(terms) > 1 else next(iter(terms.values()))


@contextlib.contextmanager
def _frozen(model: nn.Layer):
    """Stop gradients into ``model``'s parameters (they still flow through it)."""
    params = [p for p in model.parameters() if not p.stop_gradient]
    for p in params:
        p.stop_gradient = True
    try:
        yield
    finally:
        for p in params:
            p.stop_gradient = False


class WGANSolver(ppsci.solver.Solver):
    """Adversarial trainer for a generator and a critic, on ``ppsci.solver.Solver``.

    An iteration is ``n_critic`` critic steps followed by one generator step; a
    Solver epoch is ``iters_per_epoch`` iterations (ppsci's meaning of the two run
    length settings, so ``epochs * iters_per_epoch`` generator iterations in all).

    Args:
        generator (GeneratorArch): The generator.
        critic (CriticArch): The critic.
        critic_constraint (ppsci.constraint.SupervisedConstraint): Real data (a
            dataset with batch indexing such as ``NamedArrayDataset``; its input key
            must be the critic's input key; a ``label`` entry in its label dict feeds
            an auxiliary-classifier critic) and the critic loss
            (:class:`ppsci_ext.loss.CriticLoss`).
        generator_loss (ppsci.loss.Loss): :class:`ppsci_ext.loss.GeneratorLoss`.
        optimizer_generator, optimizer_critic (paddle.optimizer.Optimizer): One each.
        critic_batch_size (int): Real (and fake) samples per critic step.
        n_critic (int): Critic steps per generator step. Defaults to 5.
        penalty_interval (int): Compute the gradient penalty on every
            ``penalty_interval``-th critic step only, weighted by ``penalty_interval``
            there (lazy regularisation, Karras et al. 2020): the steps in between
            skip the interpolates' forward and double backward, the costliest part
            of a step. Defaults to 1 (every step: the paper's algorithm).
        generator_batch_size (int): Batch of the generator step. Defaults to
            ``critic_batch_size``.
        data_seed (Optional[int]): Seed of the order of real batches. Defaults to
            ``cfg.seed`` (0 without a config).
        real_transform (Optional[Callable]): Applied to each real input dict (as
            tensors) before the critic sees it, e.g. to scale uint8 images and add
            dequantisation noise per batch instead of storing floats.
        clip_value (Optional[float]): Clip critic weights to [-c, c] after every
            critic step (original WGAN). Defaults to None.
        ema_decay (Optional[float]): Keep an exponential moving average of the
            generator's weights with this decay (``ppsci.utils.ema``); the averaged
            weights are the ones written to ``model_generator.pdparams``. With a
            ``cfg``, ``TRAIN.ema.use_ema`` / ``decay`` / ``avg_freq`` set it instead.
        on_nonfinite (str): "stop" raises :class:`NonFiniteLossError` naming the
            iteration, the values and the last checkpoint; "skip" drops the step and
            counts it. Defaults to "stop".
        callbacks (Sequence[Callable]): Called with the solver after every iteration
            (e.g. to draw a sample grid every N iterations).
        cfg (Optional[DictConfig]): A ppsci config (``ppsci_default`` layout).
        **solver_kwargs: Other ``ppsci.solver.Solver`` arguments when no ``cfg`` is
            given (``output_dir``, ``epochs``, ``iters_per_epoch``, ``save_freq``,
            ``log_freq``, ``checkpoint_path``, ``validator``, ...).

    Examples:
        >>> import numpy as np, ppsci, tempfile
        >>> ppsci.utils.logger.init_logger("ppsci", None, "error")  # quiet
        >>> from ppsci_ext.arch import ToyGenerator, ToyCritic
        >>> from ppsci_ext.loss import CriticLoss, GeneratorLoss
        >>> from ppsci_ext.solver import WGANSolver
        >>> gen, critic = ToyGenerator(hidden_dim=32), ToyCritic(hidden_dim=32)
        >>> data = ppsci.constraint.SupervisedConstraint(
        ...     {"dataset": {"name": "NamedArrayDataset",
        ...                  "input": {"x": np.random.randn(512, 2).astype("float32")}},
        ...      "batch_size": 64},
        ...     CriticLoss(penalty_weight=0.1), name="critic")
        >>> solver = WGANSolver(gen, critic, data, GeneratorLoss(),
        ...     ppsci.optimizer.Adam(1e-4, beta1=0.5, beta2=0.9)(gen),
        ...     ppsci.optimizer.Adam(1e-4, beta1=0.5, beta2=0.9)(critic),
        ...     critic_batch_size=64, output_dir=tempfile.mkdtemp(), epochs=1, iters_per_epoch=3, log_freq=100)
        >>> solver.train()
        >>> solver.global_step
        3
    """

    def __init__(
        self,
        generator: GeneratorArch,
        critic: CriticArch,
        critic_constraint: ppsci.constraint.SupervisedConstraint,
        generator_loss: ppsci.loss.Loss,
        optimizer_generator: paddle.optimizer.Optimizer,
        optimizer_critic: paddle.optimizer.Optimizer,
        *,
        critic_batch_size: int,
        n_critic: int = 5,
        penalty_interval: int = 1,
        generator_batch_size: Optional[int] = None,
        data_seed: Optional[int] = None,
        real_transform: Optional[Callable[[Dict[str, paddle.Tensor]], Dict[str, paddle.Tensor]]] = None,
        clip_value: Optional[float] = None,
        ema_decay: Optional[float] = None,
        on_nonfinite: str = "stop",
        callbacks: Sequence[Callable[["WGANSolver"], None]] = (),
        extra_state: Optional[Dict] = None,
        cfg=None,
        **solver_kwargs,
    ):
        if n_critic < 1:
            raise ValueError(f"n_critic must be a positive integer, got {n_critic}")
        if penalty_interval < 1:
            raise ValueError(f"penalty_interval must be a positive integer, got {penalty_interval}")
        if on_nonfinite not in ("stop", "skip"):
            raise ValueError(f"on_nonfinite must be 'stop' or 'skip', got {on_nonfinite!r}")
        # Resuming is done here, not by ppsci's load_checkpoint (which knows one model
        # and one optimizer, and loads mismatched weights with a warning).
        self._resume_path = solver_kwargs.pop("checkpoint_path", None)
        optimizers = ppsci.optimizer.OptimizerList((optimizer_generator, optimizer_critic))
        distributed = paddle.distributed.get_world_size() > 1
        super().__init__(
            ppsci.arch.ModelList((generator, critic)),
            {critic_constraint.name: critic_constraint},
            # fleet.distributed_optimizer cannot wrap an OptimizerList; with several
            # processes the gradients are all-reduced by the steps themselves.
            optimizer=None if distributed else optimizers,
            cfg=cfg,
            **solver_kwargs,
        )
        self.optimizer = optimizers
        # ppsci may have wrapped them in paddle.DataParallel; keep both views.
        self.generator, self.critic = self.model.model_list[0], self.model.model_list[1]
        self.generator_arch, self.critic_arch = generator, critic
        self.optimizer_generator, self.optimizer_critic = optimizer_generator, optimizer_critic
        self.critic_constraint = critic_constraint
        self.generator_loss = generator_loss
        self.n_critic = int(n_critic)
        self.penalty_interval = int(penalty_interval)
        self.critic_batch_size = int(critic_batch_size)
        self.generator_batch_size = int(generator_batch_size or critic_batch_size)
        self.clip_value = clip_value
        self.real_transform = real_transform
        self.on_nonfinite = on_nonfinite
        self.callbacks = tuple(callbacks)
        # a record of the run's own (e.g. the data scaling), stored in every checkpoint
        self.extra_state = dict(extra_state or {})
        self.nonfinite_skipped = 0
        self.train_epoch_func = adversarial_epoch_func

        # Averaging applies to the generator alone (the critic is not sampled from).
        self.ema_model = None
        self.avg_freq = 1
        if cfg is not None and "ema" in cfg.TRAIN and cfg.TRAIN.ema.get("use_ema", False):
            ema_decay, self.avg_freq = cfg.TRAIN.ema.decay, cfg.TRAIN.ema.avg_freq
        if ema_decay:
            self.ema_model = GeneratorEMA(generator, ema_decay)

        self.history: Dict[str, List[float]] = {k: [] for k in HISTORY_KEYS}
        self.last_checkpoint: Optional[str] = None
        self.real_sampler = EpochShuffleSampler(
            len(critic_constraint.data_loader.dataset),
            self.critic_batch_size,
            seed=data_seed if data_seed is not None else (cfg.seed if cfg is not None else 0),
            rank=self.rank,
            world_size=self.world_size,
        )
        if self._resume_path:
            self.load_training_state(self._resume_path)

    def _parse_params_from_cfg(self, cfg):
        super()._parse_params_from_cfg(cfg)
        self._resume_path = self.checkpoint_path
        self.checkpoint_path = None
        self.pretrained_model_path = None

    # ------------------------------------------------------------------ data
    def next_real_batch(self):
        """The next (input, label, weight) dicts of real data, as tensors.

        Batches are indexed straight from the constraint's dataset by this solver's
        :class:`~ppsci_ext.data.sampler.EpochShuffleSampler` instead of through its
        DataLoader: Paddle's shuffling sampler draws from numpy's global random
        state in a prefetch thread, which a resumed run cannot replay."""
        batch = self.critic_constraint.data_loader.dataset[self.real_sampler.next_batch()]
        inputs, labels, weights = ({k: paddle.to_tensor(v) for k, v in part.items()} for part in batch)
        if self.real_transform is not None:
            inputs = self.real_transform(inputs)
        return inputs, labels, weights

    # ---------------------------------------------------------------- sampling
    def sample_noise(self, batch_size: int) -> Dict[str, paddle.Tensor]:
        """Generator inputs: standard normal noise, and uniform class labels for a
        conditional generator."""
        gen = self.generator_arch
        inputs = {gen.input_keys[0]: paddle.randn([batch_size, gen.noise_dim])}
        if gen.is_conditional:
            inputs[gen.input_keys[1]] = paddle.randint(0, gen.num_classes, [batch_size])
        return inputs

    # ------------------------------------------------------------------ steps
    # --8<-- [start:critic_step]
    def penalty_due(self, index: int) -> bool:
        """Whether the ``index``-th critic step (0-based) of the coming iteration
        computes the penalty (``penalty_interval``); counted from the start of
        training, so a resumed run keeps the schedule."""
        return (self.global_step * self.n_critic + index) % self.penalty_interval == 0

    def critic_step(self, penalise: bool = True) -> Optional[Dict[str, float]]:
        """One critic update on a fresh real batch and a detached fake batch; with
        ``penalise=False`` without the gradient penalty (a lazy schedule's step in
        between, see ``penalty_interval``)."""
        gen, critic = self.generator_arch, self.critic_arch
        in_key, score_key = critic.input_keys[0], critic.output_keys[0]
        real_input, real_label, _ = self.next_real_batch()
        x_real = real_input[in_key]
        x_real.stop_gradient = True
        with paddle.no_grad():
            x_fake = self.generator(self.sample_noise(x_real.shape[0]))[gen.output_keys[0]]
        x_hat = interpolate(x_real, x_fake)
        x_hat.stop_gradient = False
        n = x_real.shape[0]
        with self._no_sync(self.critic), self.autocast_context_manager(self.use_amp, self.amp_level):
            # Real and fake in one forward (the critic has no batch statistics, so
            # this equals two forwards). The interpolates get their own forward:
            # with them in the same concat, Paddle 3.3's double backward fails
            # ("Unable to fill empty grad inputs due to empty GradSlotMeta").
            out = self.critic({in_key: paddle.concat([x_real, x_fake])})
            score = out[score_key]
            outputs = {"score_real": score[:n], "score_fake": score[n:]}
            penalised = getattr(self.critic_constraint.loss, "penalty_weight", 0) > 0
            if penalise or not penalised:  # weight clipping still logs the gradient norm
                score_hat = self.critic({in_key: x_hat})[score_key]
                outputs["grad_norm"] = gradient_norm(score_hat, x_hat, create_graph=penalised)
            if critic.num_classes:
                outputs["logits_real"] = out[critic.output_keys[1]][:n]
            terms = self.critic_constraint.loss(outputs, real_label)
            values = {k: float(v) for k, v in terms.items()}  # the penalty unscaled
            if "critic_penalty" in terms and self.penalty_interval > 1:
                terms["critic_penalty"] = terms["critic_penalty"] * float(self.penalty_interval)
            loss = _sum_terms(terms)
            values["critic_loss"] = float(loss)
            if "grad_norm" in outputs:
                values["grad_norm"] = float(outputs["grad_norm"].mean())
            if not self._finite("critic", values):
                self.optimizer_critic.clear_grad()
                return None
            self._backward_step(loss, self.optimizer_critic, self.critic_arch)
        if self.clip_value:
            clip_weights_(self.critic_arch, self.clip_value)
        return values
    # --8<-- [end:critic_step]

    # --8<-- [start:generator_step]
    def generator_step(self) -> Optional[Dict[str, float]]:
        """One generator update against the current critic (critic weights frozen)."""
        gen, critic = self.generator_arch, self.critic_arch
        inputs = self.sample_noise(self.generator_batch_size)
        with _frozen(self.critic_arch), self._no_sync(self.generator, self.critic), \
                self.autocast_context_manager(self.use_amp, self.amp_level):
            x_fake = self.generator(inputs)[gen.output_keys[0]]
            out = self.critic({critic.input_keys[0]: x_fake})
            outputs = {"score_fake": out[critic.output_keys[0]]}
            labels = None
            if critic.num_classes:
                outputs["logits_fake"] = out[critic.output_keys[1]]
                labels = {"label": inputs[gen.input_keys[1]]}
            terms = self.generator_loss(outputs, labels)
            loss = _sum_terms(terms)
            values = {"generator_loss": float(loss)}
            if not self._finite("generator", values):
                self.optimizer_generator.clear_grad()
                return None
            self._backward_step(loss, self.optimizer_generator, self.generator_arch)
        return values
    # --8<-- [end:generator_step]

    def _no_sync(self, *models):
        """Suspend DataParallel's gradient hooks: the penalty's ``paddle.grad`` and a
        step's several forwards would otherwise trigger all-reduces of partial
        gradients. :meth:`_backward_step` all-reduces once, after the backward."""
        stack = contextlib.ExitStack()
        if self.world_size > 1:
            for model in models:
                stack.enter_context(model.no_sync())
        return stack

    def _backward_step(self, loss: paddle.Tensor, optimizer, model: nn.Layer) -> None:
        scaled = self.scaler.scale(loss) if self.use_amp else loss
        scaled.backward()
        if self.world_size > 1:
            hpu.fused_allreduce_gradients(
                [p for p in model.parameters() if not p.stop_gradient], None
            )
        if self.use_amp:
            self.scaler.minimize(optimizer, scaled)
        else:
            optimizer.step()
        optimizer.clear_grad()

    def _finite(self, network: str, values: Dict[str, float]) -> bool:
        if all(math.isfinite(v) for v in values.values()):
            return True
        shown = ", ".join(f"{k}={v:.6g}" for k, v in values.items())
        if self.on_nonfinite == "skip":
            self.nonfinite_skipped += 1
            logger.warning(
                f"Iteration {self.global_step + 1}: non-finite {network} loss ({shown}); "
                f"step skipped ({self.nonfinite_skipped} skipped so far)."
            )
            return False
        raise NonFiniteLossError(
            f"Training stopped at iteration {self.global_step + 1}: the {network} loss "
            f"is not finite ({shown}). Last good checkpoint: "
            f"{self.last_checkpoint or 'none written yet'}. Lower the learning rate or "
            "check the data for NaN/inf; set TRAIN.on_nonfinite=skip to drop such steps."
        )

    def step_schedules(self) -> None:
        for opt in (self.optimizer_generator, self.optimizer_critic):
            if isinstance(opt._learning_rate, paddle.optimizer.lr.LRScheduler):
                opt._learning_rate.step()

    # --------------------------------------------------------------- training
    def train(self) -> None:
        """Train for ``epochs * iters_per_epoch`` generator iterations (from where a
        resumed checkpoint left off), then write the final weights, the history and
        the loss curves."""
        self.max_steps = self.epochs * self.iters_per_epoch
        start_epoch = self.global_step // self.iters_per_epoch + 1
        self._train_tic = time.perf_counter()
        self._train_start_step = self.global_step
        for epoch_id in range(start_epoch, self.epochs + 1):
            self.train_epoch_func(self, epoch_id, self.log_freq)
            if self.eval_during_train and epoch_id % self.eval_freq == 0:
                self.evaluate_generator(epoch_id)
            if (self.save_freq > 0 and epoch_id % self.save_freq == 0) or epoch_id == self.epochs:
                self.save_training_state()
        self.save_final_weights()
        self.write_history()

    def evaluate_generator(self, epoch_id: Optional[int] = None):
        """Run the validators on the generator (with its averaged weights when
        averaging): ppsci's own evaluation, with the generator standing in for the
        model, so a ``SupervisedValidator`` over noise inputs and any
        ``FunctionalMetric`` on the generated samples work as for any ppsci model."""
        if not self.validator:
            return None
        full_model = self.model
        self.model = self.generator
        try:
            with self.averaged_generator():
                _, metrics = self.eval(epoch_id)
        finally:
            self.model = full_model
        for name, values in metrics.items():
            logger.scalar(
                {f"eval/{name}/{k}": v for k, v in values.items()},
                self.global_step,
                self.vdl_writer,
                self.wandb_writer,
                self.tbd_writer,
            )
        return metrics

    @contextlib.contextmanager
    def averaged_generator(self):
        """Temporarily put the averaged weights (if any) into the generator, with
        standing statistics for them where it has
        :class:`~ppsci_ext.arch.layers.StandingBatchNorm2D` layers: the generator
        as it samples and as it is saved."""
        if self.ema_model is not None:
            self.ema_model.apply_shadow()
        try:
            self.generator_arch.refresh_standing_statistics(self.generator_batch_size)
            yield
        finally:
            if self.ema_model is not None:
                self.ema_model.restore()

    # ------------------------------------------------------------ checkpoints
    def _rank0(self) -> bool:
        return self.rank == 0

    def save_training_state(self, path: Optional[str] = None) -> str:
        """Write everything needed to continue exactly where training is now."""
        path = path or os.path.join(self.output_dir, "checkpoints", "latest.pdckpt")
        state = {
            "format": CHECKPOINT_FORMAT,
            "global_step": self.global_step,
            "generator": self.generator_arch.state_dict(),
            "critic": self.critic_arch.state_dict(),
            "optimizer_generator": ckpt.portable_optimizer_state(
                self.optimizer_generator, self.generator_arch
            ),
            "optimizer_critic": ckpt.portable_optimizer_state(
                self.optimizer_critic, self.critic_arch
            ),
            "generator_ema": self.ema_model.state_dict() if self.ema_model else None,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": {
                "paddle": paddle.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
            },
            "data": self.real_sampler.state_dict(),
            "history": {k: list(v) for k, v in self.history.items()},
            "nonfinite_skipped": self.nonfinite_skipped,
            "extra": self.extra_state,
            "optimizers": {"generator": type(self.optimizer_generator).__name__,
                           "critic": type(self.optimizer_critic).__name__},
        }
        if self._rank0():
            # the digest lets a resume tell a corrupted byte from a good file
            state["digest"] = ckpt.content_digest(state)
            ckpt.save_atomic(state, path)
            logger.message(f"Saved checkpoint of iteration {self.global_step} to {path}")
        self.last_checkpoint = path
        return path

    def load_training_state(self, path: str) -> None:
        """Continue from a checkpoint written by :meth:`save_training_state`."""
        path = ckpt.checkpoint_file(path)  # also ppsci's prefix convention (.../latest)
        state = ckpt.load_file(path, "Checkpoint (TRAIN.checkpoint_path)")
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise ckpt.CheckpointError(
                f"{path!r} is not a training checkpoint of this package (expected "
                f"format {CHECKPOINT_FORMAT}). To evaluate a weights file use "
                "EVAL.pretrained_gen_model_path instead."
            )
        missing = [k for k in CHECKPOINT_KEYS if k not in state]
        if missing:
            raise ckpt.CheckpointError(
                f"{path!r} is damaged: it lacks {', '.join(missing)}. Use another copy; "
                "this file was left as it is."
            )
        ckpt.check_digest(state, path)
        saved = state.get("optimizers") or {}
        for network, opt in (("generator", self.optimizer_generator), ("critic", self.optimizer_critic)):
            if saved.get(network, type(opt).__name__) != type(opt).__name__:
                raise ckpt.CheckpointError(
                    f"{path!r} was written with the {network} optimised by {saved[network]}, "
                    f"but it is {type(opt).__name__} now; set TRAIN.optimizer.name to match "
                    "(the optimiser's state cannot be carried over)."
                )
        ckpt.check_state_dict(self.generator_arch.state_dict(), state["generator"], f"{path} (generator)")
        ckpt.check_state_dict(self.critic_arch.state_dict(), state["critic"], f"{path} (critic)")
        if (state["generator_ema"] is None) != (self.ema_model is None):
            raise ckpt.CheckpointError(
                f"{path!r} was written with generator averaging "
                f"{'off' if state['generator_ema'] is None else 'on'}, but it is "
                f"{'on' if self.ema_model else 'off'} now; set TRAIN.ema.use_ema to match."
            )
        self.generator_arch.set_state_dict(state["generator"])
        self.critic_arch.set_state_dict(state["critic"])
        ckpt.restore_optimizer_state(
            self.optimizer_generator, self.generator_arch, state["optimizer_generator"]
        )
        ckpt.restore_optimizer_state(self.optimizer_critic, self.critic_arch, state["optimizer_critic"])
        if self.ema_model is not None:
            self.ema_model.set_state_dict(dict(state["generator_ema"]))
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.global_step = int(state["global_step"])
        self.history = {k: list(state["history"][k]) for k in HISTORY_KEYS}
        self.nonfinite_skipped = int(state.get("nonfinite_skipped", 0))
        self.real_sampler.set_state_dict(state["data"])
        paddle.set_rng_state(state["rng"]["paddle"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        if self.rank > 0:
            # The checkpoint holds rank 0's random streams; the others must not repeat
            # its noise, so they restart theirs from the iteration and their rank.
            seed = int(np.random.default_rng([self.global_step, self.rank]).integers(2**31))
            paddle.seed(seed)
            np.random.seed(seed)
            random.seed(seed)
        self.last_checkpoint = path
        logger.message(f"Resumed from {path} at iteration {self.global_step}")

    def save_final_weights(self) -> Dict[str, str]:
        """Write ``model_generator.pdparams`` (averaged weights when averaging) and
        ``model_discriminator.pdparams``: each network's own state dict, as
        PaddleScience names them."""
        paths = {
            "generator": os.path.join(self.output_dir, GENERATOR_FILE),
            "critic": os.path.join(self.output_dir, CRITIC_FILE),
        }
        if self._rank0():
            with self.averaged_generator():
                ckpt.save_atomic(self.generator_arch.state_dict(), paths["generator"])
            ckpt.save_atomic(self.critic_arch.state_dict(), paths["critic"])
            logger.message(f"Saved {paths['generator']} and {paths['critic']}")
        return paths

    def write_history(self) -> None:
        """``history.csv`` (one row per iteration) and ``loss_curves.png``."""
        if not self._rank0() or not self.history["iteration"]:
            return
        with ckpt.atomic_target(os.path.join(self.output_dir, "history.csv")) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(HISTORY_KEYS)
                writer.writerows(zip(*(self.history[k] for k in HISTORY_KEYS)))
        from ppsci_ext.visualize import plot_loss_curves

        path = os.path.join(self.output_dir, "loss_curves.png")
        with ckpt.atomic_target(path, keep_extension=True) as tmp:
            plot_loss_curves(self.history, tmp)


def _mean(rows: List[Dict[str, float]], key: str, missing: float = float("nan")) -> float:
    """Mean of ``key`` over the rows that have a value for it (NaN marks none: an
    iteration whose critic steps all skipped the penalty of a lazy schedule)."""
    vals = [r[key] for r in rows if key in r and not math.isnan(r[key])]
    return float(np.mean(vals)) if vals else missing


def _penalised(solver: WGANSolver) -> bool:
    return getattr(solver.critic_constraint.loss, "penalty_weight", 0) > 0


def adversarial_epoch_func(solver: WGANSolver, epoch_id: int, log_freq: int) -> None:
    """One Solver epoch of adversarial training: ``solver.iters_per_epoch``
    iterations of ``n_critic`` critic steps and one generator step.

    Every ``log_freq`` iterations it logs the iteration, the critic loss, the
    Wasserstein estimate (the critic loss without the penalty, negated), the
    penalty, the critic's gradient norm at the interpolates, the generator loss,
    iterations per second and the time left.
    """
    window: List[Dict[str, float]] = []
    window_tic = time.perf_counter()
    for _ in range(solver.iters_per_epoch):
        if solver.global_step >= solver.max_steps:
            break
        # --8<-- [start:iteration]
        critic_rows = [r for r in (solver.critic_step(penalise=solver.penalty_due(i))
                                   for i in range(solver.n_critic)) if r]
        gen_row = solver.generator_step()
        solver.step_schedules()
        if solver.ema_model is not None and (solver.global_step + 1) % solver.avg_freq == 0:
            solver.ema_model.update()
        solver.global_step += 1
        # --8<-- [end:iteration]
        for callback in solver.callbacks:
            callback(solver)

        row = {
            "iteration": solver.global_step,
            "critic_loss": _mean(critic_rows, "critic_loss"),
            "wasserstein": -_mean(critic_rows, "critic_wasserstein"),
            # 0 where the loss has no penalty (weight clipping); NaN where a lazy
            # schedule skipped it in every critic step of the iteration
            "penalty": _mean(critic_rows, "critic_penalty",
                             0.0 if critic_rows and not _penalised(solver) else float("nan")),
            "grad_norm": _mean(critic_rows, "grad_norm"),
            "generator_loss": gen_row["generator_loss"] if gen_row else float("nan"),
            "lr": solver.optimizer_generator.get_lr(),
        }
        for key in HISTORY_KEYS:
            solver.history[key].append(row[key])
        window.append(row)

        if solver.global_step % log_freq == 0 or solver.global_step in (1, solver.max_steps):
            elapsed = time.perf_counter() - window_tic
            its = len(window) / max(elapsed, 1e-9)
            eta = (solver.max_steps - solver.global_step) / max(its, 1e-9)
            width = len(str(solver.max_steps))
            logger.info(
                f"[Train][Iter {solver.global_step:>{width}}/{solver.max_steps}] "
                + ", ".join(
                    f"{k}: {_mean(window, k):.5f}"
                    for k in ("critic_loss", "wasserstein", "penalty", "grad_norm", "generator_loss")
                )
                + f", lr: {row['lr']:.3g}, it/s: {its:.2f}, "
                f"eta: {datetime.timedelta(seconds=int(eta))}"
            )
            logger.scalar(
                {f"train/{k}": _mean(window, k) for k in HISTORY_KEYS[1:]},
                solver.global_step,
                solver.vdl_writer,
                solver.wandb_writer,
                solver.tbd_writer,
            )
            window, window_tic = [], time.perf_counter()
