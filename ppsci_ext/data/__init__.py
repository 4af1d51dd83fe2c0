"""Data sets for the experiments."""

from ppsci_ext.data.toy import TOY_MODES
from ppsci_ext.data.toy import sample_toy

__all__ = ["TOY_MODES", "sample_toy"]
