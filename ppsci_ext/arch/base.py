"""What every generator and critic of this package shares."""

from __future__ import annotations

from typing import Dict
from typing import Tuple

import numpy as np
import paddle
from ppsci.arch import base


class _DictArch(base.Arch):
    """An Arch whose forward maps its first input key to its outputs, applying
    ppsci's optional input and output transforms around it."""

    def _run(self, x: Dict[str, paddle.Tensor], compute) -> Dict[str, paddle.Tensor]:
        if self._input_transform is not None:
            x = self._input_transform(x)
        y = compute(x)
        if self._output_transform is not None:
            y = self._output_transform(x, y)
        return y


class GeneratorArch(_DictArch):
    """Base class of generators: noise (and, when conditional, a class label) in,
    samples out.

    Subclasses set ``noise_dim`` (the length of one noise vector), ``num_classes``
    (0 for an unconditional generator) and ``sample_shape`` (the shape of one sample,
    without the batch axis), which is all a sampler needs to know.
    """

    noise_dim: int
    num_classes: int = 0
    sample_shape: Tuple[int, ...]

    @property
    def is_conditional(self) -> bool:
        return self.num_classes > 0

    @paddle.no_grad()
    def refresh_standing_statistics(self, batch_size: int, num_samples: int = 1000,
                                    seed: int = 0) -> None:
        """Set the standing statistics of every
        :class:`~ppsci_ext.arch.layers.StandingBatchNorm2D` in this generator (none:
        nothing to do) to the mean, over ``num_samples // batch_size`` batches of
        noise drawn with ``seed``, of each batch's moments in training mode: what
        eval mode then normalises with. Call it whenever the weights change (the
        trainer does before it samples or saves); Paddle's random state is left
        untouched.

        Examples:
            >>> from ppsci_ext.arch import MnistGenerator
            >>> gen = MnistGenerator(dim=4, batch_norm=True)
            >>> gen.refresh_standing_statistics(batch_size=50, num_samples=200)
            >>> float(gen.norm1._variance.mean()) != 1.0
            True
        """
        from ppsci_ext.arch.layers import StandingBatchNorm2D

        norms = [layer for layer in self.sublayers() if isinstance(layer, StandingBatchNorm2D)]
        if not norms:
            return
        rng = np.random.default_rng(seed)
        was_training = self.training
        self.train()
        for norm in norms:
            norm.gathered = []
        try:
            for _ in range(max(1, num_samples // batch_size)):
                inputs = {self.input_keys[0]: paddle.to_tensor(
                    rng.standard_normal((batch_size, self.noise_dim)).astype("float32"))}
                if self.is_conditional:
                    inputs[self.input_keys[1]] = paddle.to_tensor(
                        rng.integers(0, self.num_classes, batch_size).astype("int64"))
                self(inputs)
            for norm in norms:
                means, variances = zip(*norm.gathered)
                paddle.assign(paddle.stack(means).mean(axis=0), norm._mean)
                paddle.assign(paddle.stack(variances).mean(axis=0), norm._variance)
        finally:
            for norm in norms:
                norm.gathered = None
            self.train(was_training)


class CriticArch(_DictArch):
    """Base class of critics: samples in, one unbounded score per sample out
    (``[N, 1]``), and for auxiliary-classifier critics class logits as a second
    output. Critics must not normalise over the batch: the gradient penalty is
    defined per sample.
    """

    num_classes: int = 0
