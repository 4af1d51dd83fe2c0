"""WGAN-GP on 2-D toy data (8gaussians, 25gaussians, swissroll).

    python examples/wgangp/wgangp_toy.py mode=train output_dir=outputs/toy
    python examples/wgangp/wgangp_toy.py mode=eval output_dir=outputs/toy \
        EVAL.pretrained_gen_model_path=outputs/toy/model_generator.pdparams \
        EVAL.pretrained_dis_model_path=outputs/toy/model_discriminator.pdparams
"""

import ppsci_ext  # noqa: F401  (first: sets Paddle's CPU settings before paddle loads)

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from ppsci_ext.experiments import toy  # noqa: E402


@hydra.main(version_base=None, config_path="../../conf", config_name="wgangp_toy.yaml")
def main(cfg: DictConfig):
    toy.run(cfg)


if __name__ == "__main__":
    main()
