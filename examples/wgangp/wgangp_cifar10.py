"""WGAN-GP on CIFAR-10 with the paper's ResNet; AC-WGAN-GP with MODEL.num_classes=10.

    python examples/wgangp/wgangp_cifar10.py mode=train output_dir=outputs/cifar10 \
        DATA.data_path=cifar-10-python.tar.gz
    # a short run: add TRAIN.epochs=1 TRAIN.iters_per_epoch=5
    python examples/wgangp/wgangp_cifar10.py mode=eval output_dir=outputs/cifar10 \
        DATA.data_path=cifar-10-python.tar.gz \
        EVAL.pretrained_gen_model_path=outputs/cifar10/model_generator.pdparams
    python examples/wgangp/wgangp_cifar10.py mode=export output_dir=outputs/cifar10 \
        INFER.pretrained_model_path=outputs/cifar10/model_generator.pdparams
    python examples/wgangp/wgangp_cifar10.py mode=infer output_dir=outputs/cifar10

The Inception Score and FID need the FID Inception weights:
``python -m ppsci_ext.metric.inception --fetch`` (FID) or ``--convert
pt_inception-2015-12-05-6726825d.pth`` (IS and FID).
"""

import ppsci_ext  # noqa: F401  (first: sets Paddle's CPU settings before paddle loads)

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from ppsci_ext.experiments import cifar10  # noqa: E402


@hydra.main(version_base=None, config_path="../../conf", config_name="wgangp_cifar10.yaml")
def main(cfg: DictConfig):
    cifar10.run(cfg)


if __name__ == "__main__":
    main()
