"""Wasserstein GAN losses as ``ppsci.loss.FunctionalLoss`` objects."""

from ppsci_ext.loss.wasserstein import CriticLoss
from ppsci_ext.loss.wasserstein import GeneratorLoss
from ppsci_ext.loss.wasserstein import clip_weights_
from ppsci_ext.loss.wasserstein import critic_loss
from ppsci_ext.loss.wasserstein import generator_loss
from ppsci_ext.loss.wasserstein import gradient_norm
from ppsci_ext.loss.wasserstein import interpolate

__all__ = [
    "CriticLoss",
    "GeneratorLoss",
    "clip_weights_",
    "critic_loss",
    "generator_loss",
    "gradient_norm",
    "interpolate",
]
