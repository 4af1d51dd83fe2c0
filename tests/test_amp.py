"""``use_amp``: the mixed-precision switch works with the penalty's double backward.

On a CPU, Paddle 3.3.1's ``auto_cast`` and ``GradScaler`` do nothing (they warn
"can only be enabled on CUDAPlace, XPUPlace and CustomPlace"; float16 and bfloat16,
levels O1 and O2 alike), so an AMP run there must equal a float32 run bit for bit.
On a GPU the same switch runs the networks in float16 with loss scaling.
"""

import numpy as np
import paddle
import pytest

from test_solver import make_solver
from test_solver import params


@pytest.mark.parametrize("level", ["O1", "O2"])
def test_amp_run_trains_and_keeps_the_penalty(tmp_path, level):
    plain = make_solver(tmp_path / "fp32", epochs=1, iters=3)
    plain.train()
    mixed = make_solver(tmp_path / "amp", epochs=1, iters=3, use_amp=True, amp_level=level)
    assert mixed.scaler is not None
    mixed.train()
    for key in ("critic_loss", "penalty", "grad_norm", "generator_loss"):
        values = np.asarray(mixed.history[key], dtype="float64")
        assert values.size and np.isfinite(values).all(), key
    if paddle.device.get_device().startswith("cpu"):
        got, want = params(mixed.critic_arch), params(plain.critic_arch)
        assert all(np.array_equal(got[k], want[k]) for k in want)
        got, want = params(mixed.generator_arch), params(plain.generator_arch)
        assert all(np.array_equal(got[k], want[k]) for k in want)
