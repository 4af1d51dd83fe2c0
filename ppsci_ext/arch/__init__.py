"""Generator and critic architectures, as ``ppsci.arch.Arch`` subclasses."""

from ppsci_ext.arch.base import CriticArch
from ppsci_ext.arch.base import GeneratorArch
from ppsci_ext.arch.mnist import MnistCritic
from ppsci_ext.arch.mnist import MnistGenerator
from ppsci_ext.arch.resnet32 import ResNet32Critic
from ppsci_ext.arch.resnet32 import ResNet32Generator
from ppsci_ext.arch.toy import ToyCritic
from ppsci_ext.arch.toy import ToyGenerator

__all__ = ["GeneratorArch", "CriticArch", "ToyGenerator", "ToyCritic", "MnistGenerator", "MnistCritic", "ResNet32Generator", "ResNet32Critic"]
