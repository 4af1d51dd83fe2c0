"""What every generator and critic of this package shares."""

from __future__ import annotations

from typing import Dict
from typing import Tuple

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


class CriticArch(_DictArch):
    """Base class of critics: samples in, one unbounded score per sample out
    (``[N, 1]``), and for auxiliary-classifier critics class logits as a second
    output. Critics must not normalise over the batch: the gradient penalty is
    defined per sample.
    """

    num_classes: int = 0
