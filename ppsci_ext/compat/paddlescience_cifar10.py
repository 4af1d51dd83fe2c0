"""Reading the CIFAR-10 weights PaddleScience published for its WGAN-GP example
(``model_generator_cifar10.pdparams``, ``model_discriminator_cifar10.pdparams``).

PaddleScience's CIFAR-10 networks have the paper's ResNet shape but compute
something else in three places, so its weights only give its images through its own
operations:

- generator upsampling: ``concat([x, x, x, x], axis=1)`` then ``PixelShuffle(2)`` on
  NCHW, which interleaves four different channels into each output channel,
  instead of nearest-neighbour upsampling
  (:func:`ppsci_ext.arch.resnet32.upsample_tiled_pixel_shuffle`);
- conditional generator: its conditional batch norm keeps running statistics
  (``mean`` / ``var`` buffers, updated from the unbiased variance) and uses them in
  eval mode; the official one keeps none;
- critic: each residual block normalises twice with a scalar "layer norm" (one
  scale and offset for the whole tensor; per-sample statistics in training, scalar
  running statistics in eval mode), where the paper's critic has no normalisation.

:func:`adapt` recognises a layout by its complete set of names only and returns a
:class:`~ppsci_ext.arch.ResNet32Generator` / :class:`~ppsci_ext.arch.ResNet32Critic`
built with ``variant="paddlescience"`` and otherwise the caller's settings, plus
the state dict renamed to that network's names. Shapes are left to the caller's
strict loader. Two kinds of entry are dropped because PaddleScience's forward pass
never reads them: the 1x1 ``conv_shortcut`` of the critic's two plain blocks
(their shortcut is the identity) and, for a critic without an auxiliary
classifier, ``linear2``.
"""

from __future__ import annotations

from typing import Dict
from typing import Optional
from typing import Tuple

from paddle import nn

from ppsci_ext.arch.resnet32 import ResNet32Critic
from ppsci_ext.arch.resnet32 import ResNet32Generator
from ppsci_ext.solver.checkpoint import CheckpointError

__all__ = ["LAYOUTS", "layout_names", "adapt"]

#: layout name -> network class it is read into
LAYOUTS: Dict[str, type] = {
    "cifar10_generator_unconditional": ResNet32Generator,
    "cifar10_generator_conditional": ResNet32Generator,
    "cifar10_critic": ResNet32Critic,
}

_NUM_BLOCKS = 3
_DROP = None  # target name of entries PaddleScience stores but never uses


def _generator_names(conditional: bool) -> Dict[str, Optional[str]]:
    names: Dict[str, Optional[str]] = {}
    for p in ("weight", "bias"):
        names[f"generator.linear1.{p}"] = f"linear.{p}"
        names[f"generator.conv.{p}"] = f"out_conv.{p}"
    for p in ("weight", "bias", "_mean", "_variance"):
        names[f"generator.Normalize.normalize.{p}"] = f"out_norm.{p}"
    if conditional:
        norm_params = {"scale": "scale", "offset": "offset", "mean": "_mean", "var": "_variance"}
    else:
        norm_params = {p: p for p in ("weight", "bias", "_mean", "_variance")}
    for i in range(_NUM_BLOCKS):
        theirs, ours = f"generator.ResidualBlocks.{i}", f"blocks.{i}"
        for p in ("weight", "bias"):
            names[f"{theirs}.conv_shortcut.conv2D.{p}"] = f"{ours}.shortcut.{p}"
            names[f"{theirs}.conv_1.conv2D.{p}"] = f"{ours}.conv1.{p}"
            names[f"{theirs}.conv_2.{p}"] = f"{ours}.conv2.{p}"
        for k in (1, 2):
            for p, q in norm_params.items():
                names[f"{theirs}.normalize{k}.normalize.{p}"] = f"{ours}.norm{k}.{q}"
    return names


def _critic_names(with_classifier: bool) -> Dict[str, Optional[str]]:
    names: Dict[str, Optional[str]] = {}
    first = "discriminator.optimized_resblock_disc1"
    for p in ("weight", "bias"):
        names[f"{first}.conv_1.{p}"] = f"block0.conv1.{p}"
        names[f"{first}.conv_2.conv2D.{p}"] = f"block0.conv2.{p}"
        names[f"{first}.conv_shortcut.conv2D.{p}"] = f"block0.shortcut.{p}"
        names[f"discriminator.linear.{p}"] = f"score.{p}"
        names[f"discriminator.linear2.{p}"] = f"classifier.{p}" if with_classifier else _DROP
    for i in range(_NUM_BLOCKS):
        theirs, ours = f"discriminator.ResidualBlocks.{i}", f"blocks.{i}"
        down = i == 0
        for p in ("weight", "bias"):
            if down:
                names[f"{theirs}.conv_shortcut.conv2D.{p}"] = f"{ours}.shortcut.{p}"
                names[f"{theirs}.conv_2.conv2D.{p}"] = f"{ours}.conv2.{p}"
            else:
                names[f"{theirs}.conv_shortcut.{p}"] = _DROP
                names[f"{theirs}.conv_2.{p}"] = f"{ours}.conv2.{p}"
            names[f"{theirs}.conv_1.{p}"] = f"{ours}.conv1.{p}"
        for k in (1, 2):
            for p, q in (("scale", "scale"), ("offset", "offset"), ("mean", "_mean"), ("var", "_variance")):
                names[f"{theirs}.normalize{k}.normalize.{p}"] = f"{ours}.norm{k}.{q}"
    return names


def layout_names(layout: str, with_classifier: bool = True) -> Dict[str, Optional[str]]:
    """``{PaddleScience name: this package's name}`` of a layout; None marks an
    entry PaddleScience stores but never uses (dropped on reading).

    Examples:
        >>> from ppsci_ext.compat.paddlescience_cifar10 import layout_names
        >>> names = layout_names("cifar10_generator_conditional")
        >>> len(names), names["generator.ResidualBlocks.2.normalize1.normalize.var"]
        (50, 'blocks.2.norm1._variance')
    """
    if layout == "cifar10_generator_unconditional":
        return _generator_names(conditional=False)
    if layout == "cifar10_generator_conditional":
        return _generator_names(conditional=True)
    if layout == "cifar10_critic":
        return _critic_names(with_classifier)
    raise KeyError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")


def _recognise(state: Dict) -> Optional[str]:
    keys = set(state)
    for layout in LAYOUTS:
        if keys == set(layout_names(layout)):
            return layout
    return None


def adapt(state: Dict, model: nn.Layer) -> Optional[Tuple[nn.Layer, Dict, str]]:
    """Read a PaddleScience CIFAR-10 state dict for ``model``.

    Args:
        state: The loaded ``.pdparams`` (name -> tensor or array).
        model: The network the caller built, a ``ResNet32Generator`` or
            ``ResNet32Critic`` with the paper's variant; only its settings are used.

    Returns:
        ``(network, renamed state dict, layout name)``, where ``network`` is a new
        network of ``model``'s class and settings with ``variant="paddlescience"``
        (in ``model``'s train/eval mode); None when ``state``'s names are not
        exactly one of :data:`LAYOUTS` meant for ``model``'s class.

    Raises:
        CheckpointError: the layout is recognised but cannot be read into a network
            with ``model``'s settings (conditional weights for an unconditional
            generator or the reverse, or a 64 x 64 network).

    Examples:
        >>> from ppsci_ext.arch import ResNet32Generator
        >>> from ppsci_ext.compat.paddlescience_cifar10 import adapt, layout_names
        >>> gen = ResNet32Generator(dim=8)
        >>> ours = gen.state_dict()
        >>> theirs = {old: ours[new] for old, new in layout_names("cifar10_generator_unconditional").items()}
        >>> net, state, layout = adapt(theirs, gen)
        >>> layout, net.variant, sorted(state) == sorted(ours)
        ('cifar10_generator_unconditional', 'paddlescience', True)
        >>> adapt({"weight": ours["linear.weight"]}, gen) is None
        True
    """
    layout = _recognise(state)
    if layout is None or not isinstance(model, LAYOUTS[layout]):
        return None
    source = f"PaddleScience layout '{layout}'"
    if model.image_size != 32:
        raise CheckpointError(
            f"{source} is a 32 x 32 network; MODEL has image_size={model.image_size}"
        )
    if isinstance(model, ResNet32Generator):
        conditional = layout == "cifar10_generator_conditional"
        if conditional != (model.num_classes > 0):
            raise CheckpointError(
                f"{source} is a{' conditional' if conditional else 'n unconditional'} "
                f"generator; MODEL has num_classes={model.num_classes} "
                f"(set {'num_classes: 10' if conditional else 'num_classes: 0'})"
            )
        network = ResNet32Generator(
            input_keys=model.input_keys,
            output_keys=model.output_keys,
            noise_dim=model.noise_dim,
            dim=model.dim,
            num_classes=model.num_classes,
            image_size=model.image_size,
            variant="paddlescience",
        )
        names = layout_names(layout)
    else:
        network = ResNet32Critic(
            input_keys=model.input_keys,
            output_keys=model.output_keys,
            dim=model.dim,
            num_classes=model.num_classes,
            image_size=model.image_size,
            variant="paddlescience",
        )
        names = layout_names(layout, with_classifier=model.num_classes > 0)
    if not model.training:
        network.eval()
    renamed = {names[k]: v for k, v in state.items() if names[k] is not _DROP}
    return network, renamed, layout
