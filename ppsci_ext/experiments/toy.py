"""The 2-D toy experiment (8gaussians, 25gaussians, swissroll).

``mode=train`` trains on ``DATA.num_train_samples`` points drawn as the official code
draws them; ``mode=eval`` loads ``EVAL.pretrained_gen_model_path`` (and, optionally,
``EVAL.pretrained_dis_model_path``) and writes ``samples.npy``, ``metrics.json`` and
``samples.png`` (with the critic's value contours when the critic is given);
``mode=export`` saves the generator as a Paddle inference model and ``mode=infer``
draws ``INFER.num_samples`` points from it with Paddle Inference.
"""

from __future__ import annotations

import json
import os

import numpy as np
from omegaconf import DictConfig
from ppsci.utils import logger

from ppsci_ext.data.toy import TOY_MODES
from ppsci_ext.data.toy import sample_toy
from ppsci_ext.experiments import common
from ppsci_ext.metric.toy import build_toy_metric
from ppsci_ext.metric.toy import toy_scores
from ppsci_ext.visualize import plot_toy

__all__ = ["run", "train", "evaluate"]


#: The keys this experiment reads besides the shared ones (unknown keys are refused).
CONFIG_KEYS = common.config_keys({
    "DATA": {"mode": None, "num_train_samples": None},
    "RECIPE": {mode: {"epochs": None, "n_critic": None, "critic_batch": None, "learning_rate": None}
               for mode in TOY_MODES},
    "EVAL": {"pretrained_gen_model_path": None, "pretrained_dis_model_path": None, "num_samples": None},
    "INFER": {"num_samples": None},
})


def check_config(cfg: DictConfig) -> None:
    """Check the toy keys (and the shared ones) before any work starts."""
    common.check_config(cfg, CONFIG_KEYS)
    common.require(cfg.DATA.mode in TOY_MODES, "DATA.mode", cfg.DATA.mode,
                   f"one of {', '.join(TOY_MODES)}")
    for net in ("generator", "critic"):
        dim = cfg.MODEL[net].get("data_dim", 2)
        common.require(dim == 2, f"MODEL.{net}.data_dim", dim, "2 (the toy data are 2-D points)")
    n, batch = cfg.DATA.num_train_samples, cfg.TRAIN.batch_size.critic
    common.require(common.is_int(n) and n >= batch, "DATA.num_train_samples", n,
                   f"an integer >= TRAIN.batch_size.critic ({batch})")
    m = cfg.EVAL.num_samples
    common.require(common.is_int(m) and m >= 1, "EVAL.num_samples", m, "an integer >= 1")


def train(cfg: DictConfig):
    data = sample_toy(cfg.DATA.mode, cfg.DATA.num_train_samples, seed=cfg.seed)
    real = sample_toy(cfg.DATA.mode, cfg.EVAL.num_samples, seed=cfg.seed + 1)

    def validator(generator):
        metric = build_toy_metric(cfg.DATA.mode, real, key=generator.output_keys[0])
        return {"generator": common.sample_validator(generator, cfg.EVAL.num_samples, metric, cfg.seed)}

    solver = common.train(cfg, {cfg.MODEL.critic.input_keys[0]: data}, validator=validator)
    if solver.rank == 0:
        logger.message(f"Training finished; weights are in {cfg.output_dir}")
    return solver


def _critic_grid(critic, real: np.ndarray, fake: np.ndarray, steps: int = 128):
    both = np.concatenate([real, fake])
    lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    pad = 0.15 * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype("float32")
    return xs, ys, common.critic_values(critic, grid).reshape(steps, steps)


def evaluate(cfg: DictConfig) -> dict:
    out_dir = common.prepare_output_dir(cfg)
    generator = common.load_network(cfg, "generator", cfg.EVAL.pretrained_gen_model_path,
                                    "EVAL.pretrained_gen_model_path")
    with_critic = bool(cfg.EVAL.pretrained_dis_model_path)
    if with_critic:
        critic = common.load_network(cfg, "critic", cfg.EVAL.pretrained_dis_model_path,
                                     "EVAL.pretrained_dis_model_path")
    fake = common.sample(generator, cfg.EVAL.num_samples, seed=cfg.seed)
    # Reference points from another seed than training's, so they are held out.
    real = sample_toy(cfg.DATA.mode, cfg.EVAL.num_samples, seed=cfg.seed + 1)
    metrics = {"data_mode": cfg.DATA.mode, "num_samples": int(cfg.EVAL.num_samples)}
    metrics.update(toy_scores(fake, real, cfg.DATA.mode))
    np.save(os.path.join(out_dir, "samples.npy"), fake.astype("float32"))
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    title = ", ".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}"
                      for k, v in metrics.items() if k not in ("data_mode", "num_samples"))
    plot_toy(real, fake, os.path.join(out_dir, "samples.png"),
             _critic_grid(critic, real, fake) if with_critic else None, title)
    logger.message(f"Eval metrics ({out_dir}/metrics.json): {metrics}")
    return metrics


def export(cfg: DictConfig) -> str:
    generator = common.load_network(cfg, "generator", cfg.INFER.pretrained_model_path,
                                    "INFER.pretrained_model_path")
    return common.export_generator(cfg, generator)


def infer(cfg: DictConfig) -> np.ndarray:
    out_dir = common.prepare_output_dir(cfg)
    points = common.infer_samples(cfg, cfg.MODEL.generator.noise_dim)[0].astype("float32")
    np.save(os.path.join(out_dir, "infer_samples.npy"), points)
    real = sample_toy(cfg.DATA.mode, len(points), seed=cfg.seed + 1)
    plot_toy(real, points, os.path.join(out_dir, "infer_samples.png"), title="Paddle Inference samples")
    logger.message(f"Wrote {len(points)} samples to {out_dir}/infer_samples.npy and .png")
    return points


def run(cfg: DictConfig):
    """Check the config, then train, evaluate, export or infer as ``cfg.mode`` says."""
    return common.run_mode(
        cfg,
        {"train": train, "eval": evaluate, "export": export, "infer": infer},
        check=check_config,
    )
