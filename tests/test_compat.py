"""PaddleScience's published layouts load through the same path users take
(``load_weights``) and draw the images PaddleScience's own networks draw."""

import numpy as np
import pytest

from ppsci_ext.arch import MnistGenerator
from ppsci_ext.arch import ResNet32Generator
from ppsci_ext.arch import ToyGenerator
from ppsci_ext.experiments import common
from ppsci_ext.solver import CheckpointError


@pytest.mark.parametrize(
    "name, build",
    [
        ("toy_generator", lambda: ToyGenerator()),
        ("mnist_generator", lambda: MnistGenerator()),
        ("cifar10_generator_unconditional", lambda: ResNet32Generator()),
        ("cifar10_generator_conditional", lambda: ResNet32Generator(num_classes=10)),
    ],
)
def test_golden_outputs_through_load_weights(fixtures_dir, name, build):
    golden = np.load(fixtures_dir / "paddlescience_golden" / f"{name}.npz")
    paper_net = build()
    net = common.load_weights(paper_net, str(fixtures_dir / "paddlescience_golden" / f"{name}.pdparams"),
                              "generator", "EVAL.pretrained_gen_model_path")
    net.eval()
    labels = golden["labels"] if net.is_conditional else None
    out = common.sample(net, noise=golden["noise"], labels=labels).reshape(golden["output"].shape)
    np.testing.assert_allclose(out, golden["output"], atol=1e-5)
    if name != "toy_generator":
        # PaddleScience's variant is a separate network; the paper's stays as it was
        assert net is not paper_net


def test_paddlescience_layout_for_another_network_is_refused(fixtures_dir):
    path = fixtures_dir / "paddlescience_golden" / "mnist_generator.pdparams"
    with pytest.raises(CheckpointError, match="does not fit"):
        common.load_weights(ToyGenerator(), str(path), "generator", "EVAL.pretrained_gen_model_path")
