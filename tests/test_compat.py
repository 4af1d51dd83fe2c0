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


def test_paddlescience_mnist_file_is_read_at_its_own_width(tmp_path, monkeypatch):
    # PaddleScience's example is dim 64; a config of another width still reads it,
    # and says which width it used
    from ppsci_ext.compat.paddlescience_mnist import layout_names
    from ppsci_ext.solver.checkpoint import save_atomic

    theirs = MnistGenerator(dim=8)
    path = tmp_path / "model_generator_mnist.pdparams"
    save_atomic({old: theirs.state_dict()[new] for old, new in layout_names("mnist_generator").items()},
                str(path))
    said = []
    monkeypatch.setattr(common.logger, "message", said.append)
    net = common.load_weights(MnistGenerator(dim=4), str(path), "generator", "EVAL.pretrained_gen_model_path")
    assert (net.dim, net.paddlescience_padding) == (8, True)
    np.testing.assert_array_equal(net.deconv3.weight.numpy(), theirs.deconv3.weight.numpy())
    assert "MODEL.generator.dim=8" in said[-1] and "dim 4" in said[-1], said


def test_own_file_of_another_width_names_the_setting_that_fits(tmp_path):
    from ppsci_ext.arch import MnistCritic
    from ppsci_ext.solver.checkpoint import save_atomic

    for build, what in ((lambda dim: MnistGenerator(dim=dim), "generator"),
                        (lambda dim: MnistCritic(dim=dim), "critic")):
        path = tmp_path / f"{what}.pdparams"
        save_atomic(build(8).state_dict(), str(path))
        with pytest.raises(CheckpointError) as err:
            common.load_weights(build(4), str(path), what, "EVAL.pretrained_gen_model_path")
        message = str(err.value)
        assert "does not fit" in message and f"MODEL.{what}.dim=8" in message and "dim 4" in message, message
    # a generator trained with batch norm, loaded into a config without it
    path = tmp_path / "generator_bn.pdparams"
    save_atomic(MnistGenerator(dim=4, batch_norm=True).state_dict(), str(path))
    with pytest.raises(CheckpointError) as err:
        common.load_weights(MnistGenerator(dim=4), str(path), "generator", "EVAL.pretrained_gen_model_path")
    assert "MODEL.generator.batch_norm=True" in str(err.value) and "batch_norm False" in str(err.value)
