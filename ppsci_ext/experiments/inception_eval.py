r"""Inception Score and FID of an image experiment's samples, from its config.

The MNIST and CIFAR-10 experiments score generated images the same way, in
``mode=eval`` and, with ``TRAIN.eval_during_train``, every ``TRAIN.eval_freq``
epochs during training (on fewer images). What they share lives here:

* :func:`find_network`: the FID Inception network that ``EVAL.inception_weights``
  (or the cache, ``EVAL.cache_dir``) gives, and for each metric it cannot serve the
  missing file and the command that gets it. FID needs the pool3 layers
  (``python -m ppsci_ext.metric.inception --fetch``); the Inception Score also needs
  the 1008-class fc layer, which only pytorch-fid's
  ``pt_inception-2015-12-05-6726825d.pth`` has (``--convert``);
* :func:`reference_statistics`: the real images' $(\mu, \Sigma)$ of pool3 features:
  ``EVAL.fid_reference`` when set, else computed once from the experiment's
  reference images and cached as ``.npz`` keyed by a hash of the images;
* :func:`score_samples`: the ``metrics.json`` entries of ``mode=eval``;
* :func:`samples_metric` and :class:`EvalHistory`: the ``ppsci.metric.FunctionalMetric``
  a training-time validator scores the generator's samples with (IS, FID and any
  other metric of the experiment) and the record of those evaluations,
  ``eval_history.jsonl`` in ``output_dir``, one JSON object per evaluation with its
  iteration.
"""

from __future__ import annotations

import json
import os
from typing import Callable
from typing import Dict
from typing import Optional
from typing import Sequence
from typing import Tuple

import numpy as np
import paddle
from omegaconf import DictConfig
from ppsci.utils import logger

from ppsci_ext.metric import inception
from ppsci_ext.metric import scores

__all__ = [
    "HISTORY_FILE",
    "cache_of",
    "find_network",
    "reference_statistics",
    "score_samples",
    "samples_metric",
    "EvalHistory",
]

#: Training-time evaluations, one JSON object per line, in ``output_dir``.
HISTORY_FILE = "eval_history.jsonl"

Stats = Tuple[np.ndarray, np.ndarray]
#: ``(statistics or None, where they come from, why there are none)``
Reference = Tuple[Optional[Stats], Optional[str], Optional[str]]


def cache_of(cfg: DictConfig) -> Optional[str]:
    """``EVAL.cache_dir``, or None for the default cache (``$PPSCI_EXT_CACHE`` or
    ``~/.cache/ppsci_ext``)."""
    return cfg.EVAL.get("cache_dir") or None


def find_network(cfg: DictConfig) -> Tuple[Optional[inception.FIDInceptionV3], Dict[str, str]]:
    """The FID Inception network of ``EVAL.inception_weights`` (null: the cache), and
    for each metric it cannot compute (``"FID"``, ``"IS"``) why, naming the missing
    file and the command that gets it (or the switch ``EVAL.inception=false``, which
    leaves both out). Cheap: call it before the long work, so a
    missing file is reported at once.

    Args:
        cfg (DictConfig): The experiment config (``EVAL.inception_weights``,
            ``EVAL.cache_dir``).

    Returns:
        Tuple[Optional[FIDInceptionV3], Dict[str, str]]: The network (None when no
            weights are found) and the messages of the metrics left out.

    Examples:
        >>> from omegaconf import OmegaConf
        >>> from ppsci_ext.experiments.inception_eval import find_network
        >>> cfg = OmegaConf.create({"EVAL": {"inception_weights": None,
        ...                                  "cache_dir": "/nonexistent"}})
        >>> net, missing = find_network(cfg)
        >>> net is None, sorted(missing)
        (True, ['FID', 'IS'])
        >>> "python -m ppsci_ext.metric.inception --fetch" in missing["FID"]
        True
    """
    if not cfg.EVAL.get("inception", True):
        msg = ("EVAL.inception=false: not computed (set EVAL.inception=true to add it; "
               "on a CPU the Inception network takes minutes per thousand images).")
        return None, {"IS": msg, "FID": msg}
    weights, cache = cfg.EVAL.get("inception_weights") or None, cache_of(cfg)
    folder = inception.cache_dir(cache)
    if weights and not os.path.isfile(weights):
        msg = (f"EVAL.inception_weights={weights!r} does not exist. Run `python -m "
               f"ppsci_ext.metric.inception --fetch` (FID) or download {inception.PTH_FILE} "
               f"({inception.PTH_URL}) and run `python -m ppsci_ext.metric.inception "
               f"--convert {inception.PTH_FILE}` (IS and FID), then set EVAL.inception_weights "
               "to the file it prints, or null to use the cache.")
        return None, {"IS": msg, "FID": msg}
    missing, net = {}, None
    try:
        net = inception.load_fid_inception(weights, require_fc=False, cache=cache)
    except FileNotFoundError as exc:
        missing["FID"] = (f"FID needs the FID Inception weights "
                          f"{os.path.join(folder, inception.POOL3_WEIGHTS)} (or "
                          f"{inception.FULL_WEIGHTS}), which are absent: {exc}")
    except ValueError as exc:  # a file that is not one of the FID Inception ports
        msg = f"EVAL.inception_weights={weights!r} could not be read: {exc}"
        return None, {"IS": msg, "FID": msg}
    if net is None or not net.with_fc:
        try:
            inception.load_fid_inception(weights, require_fc=True, cache=cache)
        except (RuntimeError, FileNotFoundError) as exc:
            missing["IS"] = f"Inception Score not computed: {exc}"
    return net, missing


def reference_statistics(
    cfg: DictConfig,
    net: Optional[inception.FIDInceptionV3],
    name: str,
    load_images: Callable[[], np.ndarray],
    what: str,
) -> Reference:
    """The FID reference: ``EVAL.fid_reference`` (a ``.npz`` with ``mu`` and
    ``sigma``) when set, else the statistics of ``load_images()``, computed once with
    ``net`` and cached in ``<cache>/fid_stats/<name>-<hash>.npz``
    (:func:`ppsci_ext.metric.scores.reference_statistics_from_array`).

    Args:
        cfg (DictConfig): The experiment config (``EVAL.fid_reference``,
            ``EVAL.cache_dir``, ``EVAL.batch_size``).
        net (Optional[FIDInceptionV3]): The network; None only looks for the images.
        name (str): Cache file prefix, e.g. "cifar10_train".
        load_images (Callable[[], np.ndarray]): Returns the real images (uint8 NHWC,
            or NHW for grey); raises ``OSError`` or ``ValueError`` with a message the
            user can act on when they cannot be had.
        what (str): What the images are, for the messages, e.g. "CIFAR-10 train".

    Returns:
        Reference: ``(stats, source, None)``, or ``(None, None, why)`` when they cannot
            be had (``(None, None, None)`` when the images are there but ``net`` is None).

    Examples:
        >>> from ppsci_ext.experiments.inception_eval import reference_statistics
        >>> stats, source, why = reference_statistics(  # doctest: +SKIP
        ...     cfg, net, "mnist_test", load_test_pixels, "MNIST test split")
    """
    if cfg.EVAL.get("fid_reference"):
        path = cfg.EVAL.fid_reference
        if not os.path.isfile(path):
            return None, None, (f"EVAL.fid_reference={path!r} does not exist: give a .npz "
                                f"with mu and sigma, or null to use the {what} images")
        return scores.load_statistics(path), path, None
    try:
        images = load_images()
    except (OSError, ValueError) as exc:  # the data loaders' errors say what to do
        return None, None, f"FID needs {what} statistics: {exc}"
    if net is None:
        return None, None, None
    folder = os.path.join(inception.cache_dir(cache_of(cfg)), "fid_stats")
    logger.message(f"FID reference: statistics of {len(images)} {what} images (computed "
                   f"once, then read from the cache in {folder})")
    stats = scores.reference_statistics_from_array(
        images, name=name, cache=cache_of(cfg), model=net, batch_size=cfg.EVAL.batch_size
    )
    return stats, f"{what}, {len(images)} images", None


def score_samples(
    cfg: DictConfig,
    images: np.ndarray,
    net: Optional[inception.FIDInceptionV3],
    not_computed: Dict[str, str],
    reference: Reference = (None, None, None),
    note: Optional[str] = None,
) -> Dict[str, object]:
    """The Inception entries of ``metrics.json`` for ``images`` (``mode=eval``).

    ``IS``, ``IS_std`` and ``FID`` are None when not computed, the reason going into
    ``not_computed`` (updated in place, and logged as a warning);
    ``inception_weights`` and ``fid_reference`` say what was used, ``note`` how
    far the numbers can be compared (default: with fewer than 50,000 samples, not
    with published numbers).

    Args:
        cfg (DictConfig): The experiment config (``EVAL.is_splits``,
            ``EVAL.batch_size``, ``EVAL.inception_weights``).
        images (np.ndarray): uint8 NHWC (NHW for grey) or float NCHW in $[-1, 1]$.
        net (Optional[FIDInceptionV3]): From :func:`find_network`.
        not_computed (Dict[str, str]): From :func:`find_network`.
        reference (Reference): From :func:`reference_statistics`. Defaults to none.
        note (Optional[str]): The comparability note. Defaults to the 50,000-sample one.

    Returns:
        Dict[str, object]: The entries.
    """
    stats, source, why = reference
    if why and "FID" not in not_computed:
        not_computed["FID"] = why
        logger.warning(why)
    result: Dict[str, object] = {"IS": None, "IS_std": None, "FID": None}
    if stats is not None:
        result["fid_reference"] = source
    if net is not None and (net.with_fc or stats is not None):
        result["inception_weights"] = str(
            cfg.EVAL.get("inception_weights") or inception.find_weights(cache=cache_of(cfg))
        )
        try:
            result.update(scores.inception_metrics(
                images, net, stats, cfg.EVAL.is_splits, cfg.EVAL.batch_size))
        except ValueError as exc:  # e.g. a covariance too singular for sqrtm (few samples)
            not_computed["FID"] = f"FID not computed: {exc}"
            logger.warning(not_computed["FID"])
    n = len(images)
    if result["IS"] is not None or result["FID"] is not None:
        if note is None and n < scores.DEFAULT_NUM_SAMPLES:
            note = f"{n} samples: not comparable with published numbers (50,000 samples)"
        if note:
            result["note"] = note
    return result


class EvalHistory:
    """The record of training-time evaluations: ``<output_dir>/eval_history.jsonl``,
    one JSON object per evaluation, ``{"iteration": ..., "epoch": ..., <metrics>}``.

    Pass the instance to the solver as a callback (it keeps the running solver,
    whose iteration each record carries) and to :func:`samples_metric`. Only rank 0
    writes. A resumed run replaces the records of the iterations it repeats.

    Args:
        output_dir (str): The run's folder.

    Examples:
        >>> import json, tempfile
        >>> from types import SimpleNamespace
        >>> from ppsci_ext.experiments.inception_eval import EvalHistory
        >>> history = EvalHistory(tempfile.mkdtemp())
        >>> history(SimpleNamespace(global_step=200, iters_per_epoch=100, rank=0))
        >>> history.record({"FID": 12.5})
        >>> [json.loads(line) for line in open(history.path)]
        [{'iteration': 200, 'epoch': 2, 'FID': 12.5}]
    """

    def __init__(self, output_dir: str):
        self.path = os.path.join(output_dir, HISTORY_FILE)
        self.solver = None

    def __call__(self, solver) -> None:
        self.solver = solver

    def record(self, values: Dict[str, float]) -> None:
        """Append one evaluation (at the solver's current iteration)."""
        if self.solver is None or self.solver.rank != 0:
            return
        step = int(self.solver.global_step)
        row = {"iteration": step, "epoch": step // int(self.solver.iters_per_epoch)}
        row.update({k: float(v) for k, v in values.items()})
        kept = []
        if os.path.isfile(self.path):
            with open(self.path) as f:
                kept = [line for line in f if line.strip() and json.loads(line)["iteration"] < step]
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(kept)
            f.write(json.dumps(row) + "\n")
        os.replace(tmp, self.path)


def samples_metric(
    net: Optional[inception.FIDInceptionV3],
    reference: Optional[Stats],
    key: str,
    splits: int = 10,
    batch_size: int = 50,
    to_pixels: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    extra: Sequence[Callable] = (),
    history: Optional[EvalHistory] = None,
):
    r"""A ``ppsci.metric.FunctionalMetric`` scoring the generated images in
    ``output_dict[key]``: the Inception Score (when ``net`` has its fc layer) and the
    FID against ``reference`` (when given), in one pass
    (:func:`ppsci_ext.metric.scores.inception_metrics`), plus every metric of
    ``extra`` on the same images; the values go to ``history`` too.

    Args:
        net (Optional[FIDInceptionV3]): The network; None leaves IS and FID out.
        reference (Optional[Stats]): ``(mu, sigma)`` of the real images; None: no FID.
        key (str): The generator's output key.
        splits (int, optional): Inception Score splits. Defaults to 10.
        batch_size (int, optional): Inception batch. Defaults to 50.
        to_pixels (Optional[Callable]): Maps the generator's output to images the
            network takes (uint8 NHWC / NHW, or float NCHW in $[-1, 1]$). Defaults to
            None (the output already is).
        extra (Sequence[Callable]): Other metrics, each called as
            ``metric(output_dict, label_dict)`` and returning a dict of scalars.
        history (Optional[EvalHistory]): Where each evaluation is recorded.

    Returns:
        ppsci.metric.FunctionalMetric: Returns ``{"IS", "IS_std", "FID", ...}`` as
            float64 scalar tensors.
    """
    from ppsci.metric import FunctionalMetric

    def metric_expr(output_dict, label_dict=None) -> Dict[str, paddle.Tensor]:
        values: Dict[str, float] = {}
        if net is not None and (net.with_fc or reference is not None):
            images = output_dict[key]
            images = images.numpy() if isinstance(images, paddle.Tensor) else np.asarray(images)
            if to_pixels is not None:
                images = to_pixels(images)
            values.update(scores.inception_metrics(images, net, reference, splits, batch_size,
                                                   progress=False))
        for metric in extra:
            values.update({k: float(v) for k, v in metric(output_dict, label_dict).items()})
        if history is not None:
            history.record(values)
        return {k: paddle.to_tensor(v, dtype="float64") for k, v in values.items()}

    return FunctionalMetric(metric_expr)
