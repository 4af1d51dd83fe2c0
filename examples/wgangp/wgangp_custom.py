"""WGAN-GP on your own data: a folder of images, an image array, or a table of vectors.

    python examples/wgangp/wgangp_custom.py mode=train output_dir=outputs/mine \
        DATA.data_path=my_images/            # or images.npy, data.npz, table.csv
    python examples/wgangp/wgangp_custom.py mode=eval output_dir=outputs/mine \
        EVAL.pretrained_gen_model_path=outputs/mine/model_generator.pdparams
    python examples/wgangp/wgangp_custom.py mode=export output_dir=outputs/mine \
        INFER.pretrained_model_path=outputs/mine/model_generator.pdparams
    python examples/wgangp/wgangp_custom.py mode=infer output_dir=outputs/mine

Labels (class subfolders, DATA.label_column, a ``labels`` array in the .npz, or
DATA.label_path) switch on AC-WGAN-GP. docs/custom_data.md has a worked example.
"""

import ppsci_ext  # noqa: F401  (first: sets Paddle's CPU settings before paddle loads)

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from ppsci_ext.experiments import custom  # noqa: E402


@hydra.main(version_base=None, config_path="../../conf", config_name="wgangp_custom.yaml")
def main(cfg: DictConfig):
    custom.run(cfg)


if __name__ == "__main__":
    main()
