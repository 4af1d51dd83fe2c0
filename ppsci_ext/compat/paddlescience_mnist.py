"""Reading the MNIST weights PaddleScience published for its WGAN-GP example
(``model_generator_mnist.pdparams``, ``model_discriminator_mnist.pdparams``:
``WganGpMnistGenerator`` / ``WganGpMnistDiscriminator``, dim 64).

Names: PaddleScience wraps its layers in ``generator.`` / ``discriminator.``; the
shapes are those of :class:`ppsci_ext.arch.MnistGenerator` /
:class:`~ppsci_ext.arch.MnistCritic` (Paddle layouts on both sides: Linear
``[in, out]``, Conv2D ``[out, in, 5, 5]``, Conv2DTranspose ``[in, out, 5, 5]``), so
the weights are only renamed.

Forward passes: two differences that renaming cannot fix, so :func:`adapt` builds
the network with a constructor option that reproduces PaddleScience's operation:

- generator: its second transposed convolution is
  ``Conv2DTranspose(128, 64, 5, 2, "same", output_padding=1)`` on a 7x7 input.
  Paddle's "same" there pads 2 before and 2 after (13 rows) and ``output_padding``
  adds one row at the end, so it keeps rows 2..15 of the full 17-row result where
  the official TensorFlow "SAME" transpose keeps rows 1..14: that layer's output is
  shifted by one pixel, and the images differ (by up to 0.29 on the golden
  fixture). The other two transposed convolutions agree with the official ones.
  -> ``MnistGenerator(paddlescience_padding=True)``.
- critic: it uses ``nn.LeakyReLU()``, whose slope is 0.01, where the official uses
  0.2. -> ``MnistCritic(negative_slope=0.01)``.

(PaddleScience's generator also ignores the noise it is given and draws its own;
the golden outputs in ``fixtures/paddlescience_golden`` use the given noise, as
this package's generator does.)
"""

from __future__ import annotations

from typing import Dict
from typing import Optional
from typing import Tuple

from paddle import nn

from ppsci_ext.arch.mnist import MnistCritic
from ppsci_ext.arch.mnist import MnistGenerator

__all__ = ["LAYOUTS", "PADDLESCIENCE_LEAKY_SLOPE", "layout_names", "adapt"]

#: layout name -> network class it is read into
LAYOUTS: Dict[str, type] = {
    "mnist_generator": MnistGenerator,
    "mnist_critic": MnistCritic,
}

#: slope of Paddle's default ``nn.LeakyReLU()``, which PaddleScience's critic uses
PADDLESCIENCE_LEAKY_SLOPE = 0.01

_NAMES = {
    "mnist_generator": (
        "generator",
        (
            ("linear1", "linear"),
            ("conv2d_transpose1", "deconv1"),
            ("conv2d_transpose2", "deconv2"),
            ("conv2d_transpose3", "deconv3"),
        ),
    ),
    "mnist_critic": (
        "discriminator",
        (("conv2d_1", "conv1"), ("conv2d_2", "conv2"), ("conv2d_3", "conv3"), ("linear", "linear")),
    ),
}


def layout_names(layout: str) -> Dict[str, str]:
    """``{PaddleScience name: this package's name}`` of a layout.

    Examples:
        >>> from ppsci_ext.compat.paddlescience_mnist import layout_names
        >>> names = layout_names("mnist_generator")
        >>> len(names), names["generator.conv2d_transpose2.weight"]
        (8, 'deconv2.weight')
    """
    if layout not in _NAMES:
        raise KeyError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    prefix, pairs = _NAMES[layout]
    return {
        f"{prefix}.{theirs}.{p}": f"{ours}.{p}" for theirs, ours in pairs for p in ("weight", "bias")
    }


def adapt(state: Dict, model: nn.Layer) -> Optional[Tuple[nn.Layer, Dict, str]]:
    """Read a PaddleScience MNIST state dict for ``model``.

    Args:
        state: The loaded ``.pdparams`` (name -> tensor or array).
        model: The network the caller built, a ``MnistGenerator`` or ``MnistCritic``;
            only its settings are used, it is left as it was.

    Returns:
        ``(network, renamed state dict, layout name)``: ``network`` is a new network
        of ``model``'s class, with ``model``'s keys and the widths (``dim``,
        ``noise_dim``) of the file, that computes what PaddleScience's does
        (generator: ``paddlescience_padding=True``; critic: ``negative_slope=0.01``),
        in ``model``'s train/eval mode. None when ``state``'s names are not exactly
        one of :data:`LAYOUTS` meant for ``model``'s class.

    Examples:
        >>> from ppsci_ext.arch import MnistGenerator
        >>> from ppsci_ext.compat.paddlescience_mnist import adapt, layout_names
        >>> gen = MnistGenerator(dim=4)
        >>> ours = gen.state_dict()
        >>> theirs = {old: ours[new] for old, new in layout_names("mnist_generator").items()}
        >>> net, state, layout = adapt(theirs, gen)
        >>> layout, net.paddlescience_padding, gen.paddlescience_padding, sorted(state) == sorted(ours)
        ('mnist_generator', True, False, True)
        >>> wide = MnistGenerator(dim=8).state_dict()
        >>> wider = {old: wide[new] for old, new in layout_names("mnist_generator").items()}
        >>> adapt(wider, gen)[0].dim  # the file's width, not the caller's
        8
        >>> adapt(ours, gen) is None
        True
    """
    keys = set(state)
    layout = next((name for name in LAYOUTS if keys == set(layout_names(name))), None)
    if layout is None or not isinstance(model, LAYOUTS[layout]):
        return None
    names = layout_names(layout)
    renamed = {names[k]: v for k, v in state.items()}
    # the widths are the file's (PaddleScience's example uses dim 64), whatever the
    # caller's network was built with: the caller reports a difference
    if isinstance(model, MnistGenerator):
        network = MnistGenerator(
            input_keys=model.input_keys,
            output_keys=model.output_keys,
            **MnistGenerator.settings_in(renamed),
            paddlescience_padding=True,
        )
    else:
        network = MnistCritic(
            input_keys=model.input_keys,
            output_keys=model.output_keys,
            **MnistCritic.settings_in(renamed),
            negative_slope=PADDLESCIENCE_LEAKY_SLOPE,
        )
    if not model.training:
        network.eval()
    return network, renamed, layout
