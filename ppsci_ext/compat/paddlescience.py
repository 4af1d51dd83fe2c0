"""Reading the weights PaddleScience published for its WGAN-GP example.

PaddleScience's networks name their layers differently from this package's (see
``fixtures/paddlescience_state_dict_layout.json``). A layout is recognised only by
its complete set of names; its weights are renamed to this package's names and
then loaded with the usual strict name-and-shape check, so a file that fits no
known layout is still refused.

MNIST and CIFAR-10 layouts compute differently from the paper's networks (see
:mod:`~ppsci_ext.compat.paddlescience_mnist` and
:mod:`~ppsci_ext.compat.paddlescience_cifar10`): for them a network built with
PaddleScience's variant is returned. :func:`adapt` tries every known layout.

Toy networks (``WganGpToyGenerator`` / ``WganGpToyDiscriminator``): the same MLP as
:class:`ppsci_ext.arch.ToyGenerator` / :class:`~ppsci_ext.arch.ToyCritic` (three
ReLU layers and an output layer; Paddle ``Linear`` weights are ``[in, out]`` in
both), so renaming is all it takes.
"""

from __future__ import annotations

from typing import Dict
from typing import Optional
from typing import Tuple

__all__ = ["LAYOUTS", "convert", "adapt"]


def _mlp_names(prefix: str) -> Dict[str, str]:
    names = {}
    for i, ours in enumerate((0, 2, 4)):
        for p in ("weight", "bias"):
            names[f"{prefix}.reluLayer{i + 1}.linear.{p}"] = f"net.{ours}.{p}"
    for p in ("weight", "bias"):
        names[f"{prefix}.linear.{p}"] = f"net.6.{p}"
    return names


#: layout name -> (network class name, {PaddleScience name: this package's name})
LAYOUTS: Dict[str, Tuple[str, Dict[str, str]]] = {
    "toy_generator": ("ToyGenerator", _mlp_names("generator")),
    "toy_critic": ("ToyCritic", _mlp_names("discriminator")),
}


def convert(state: Dict, model) -> Optional[Tuple[Dict, str]]:
    """Rename a PaddleScience state dict for ``model``.

    Returns:
        ``(renamed state dict, layout name)``, or None when the names match no
        PaddleScience layout known for ``model``'s class.

    Examples:
        >>> import paddle
        >>> from ppsci_ext.arch import ToyGenerator
        >>> from ppsci_ext.compat.paddlescience import LAYOUTS, convert
        >>> names = LAYOUTS["toy_generator"][1]
        >>> gen = ToyGenerator()
        >>> ours = gen.state_dict()
        >>> theirs = {old: ours[new] for old, new in names.items()}
        >>> convert(theirs, gen)[1]
        'toy_generator'
    """
    cls_name = type(model).__name__
    for layout, (target, names) in LAYOUTS.items():
        if target == cls_name and set(state) == set(names):
            return {names[k]: v for k, v in state.items()}, layout
    return None


def adapt(state: Dict, model):
    """Recognise any PaddleScience layout meant for ``model``'s class.

    Returns:
        ``(network to load into, renamed state dict, layout name)``, or None. The
        network is ``model`` itself where PaddleScience computes as the paper's
        network does (toy), and a network built with PaddleScience's variant where
        it does not (MNIST, CIFAR-10).
    """
    from ppsci_ext.compat import paddlescience_cifar10
    from ppsci_ext.compat import paddlescience_mnist

    for variant_adapter in (paddlescience_mnist.adapt, paddlescience_cifar10.adapt):
        adapted = variant_adapter(state, model)
        if adapted is not None:
            return adapted
    converted = convert(state, model)
    return None if converted is None else (model, *converted)
