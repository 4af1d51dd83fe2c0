"""WGAN-GP on MNIST with the official gan_mnist.py networks.

    python examples/wgangp/wgangp_mnist.py mode=train output_dir=outputs/mnist
    python examples/wgangp/wgangp_mnist.py mode=eval output_dir=outputs/mnist \
        EVAL.pretrained_gen_model_path=outputs/mnist/model_generator.pdparams
    python examples/wgangp/wgangp_mnist.py mode=export output_dir=outputs/mnist \
        INFER.pretrained_model_path=outputs/mnist/model_generator.pdparams
    python examples/wgangp/wgangp_mnist.py mode=infer output_dir=outputs/mnist

The official recipe (200k iterations) is `preset=mnist_official`. Eval's classifier
scores need the cached classifier: `python -m ppsci_ext.metric.classifier --train`.
"""

import ppsci_ext  # noqa: F401  (first: sets Paddle's CPU settings before paddle loads)

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from ppsci_ext.experiments import mnist  # noqa: E402


@hydra.main(version_base=None, config_path="../../conf", config_name="wgangp_mnist.yaml")
def main(cfg: DictConfig):
    mnist.run(cfg)


if __name__ == "__main__":
    main()
