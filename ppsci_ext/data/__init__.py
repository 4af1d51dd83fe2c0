"""Data sets for the experiments."""

from ppsci_ext.data.cifar10 import Cifar10Error
from ppsci_ext.data.cifar10 import dequantize_batch
from ppsci_ext.data.cifar10 import load_cifar10
from ppsci_ext.data.cifar10 import to_model_range
from ppsci_ext.data.cifar10 import write_cifar10
from ppsci_ext.data.mnist import default_mnist_path
from ppsci_ext.data.mnist import load_mnist
from ppsci_ext.data.toy import TOY_MODES
from ppsci_ext.data.toy import sample_toy

__all__ = ["TOY_MODES", "sample_toy", "load_mnist", "default_mnist_path",
           "load_cifar10", "write_cifar10", "to_model_range", "dequantize_batch", "Cifar10Error"]
