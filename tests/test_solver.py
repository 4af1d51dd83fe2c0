"""The adversarial trainer: who is updated when, how often, and exact resume."""


import numpy as np
import paddle
import ppsci
import pytest

from ppsci_ext.arch import ResNet32Critic
from ppsci_ext.arch import ResNet32Generator
from ppsci_ext.arch import ToyCritic
from ppsci_ext.arch import ToyGenerator
from ppsci_ext.loss import CriticLoss
from ppsci_ext.loss import GeneratorLoss
from ppsci_ext.solver import CheckpointError
from ppsci_ext.solver import NonFiniteLossError
from ppsci_ext.solver import WGANSolver


DATA = np.random.default_rng(0).standard_normal((256, 2)).astype("float32")


def make_solver(tmp_path, data=None, n_critic=3, epochs=2, iters=3, seed=0, ema=None, **kw):
    ppsci.utils.misc.set_random_seed(seed)
    gen, critic = ToyGenerator(hidden_dim=16), ToyCritic(hidden_dim=16)
    data = DATA.copy() if data is None else data
    constraint = ppsci.constraint.SupervisedConstraint(
        {"dataset": {"name": "NamedArrayDataset", "input": {"x": data}},
         "batch_size": 32},
        CriticLoss(penalty_weight=kw.pop("penalty_weight", 10.0)),
        name="critic",
    )
    lr = ppsci.optimizer.lr_scheduler.Linear(epochs, iters, 1e-3)
    return WGANSolver(
        gen, critic, constraint, GeneratorLoss(),
        ppsci.optimizer.Adam(lr(), beta1=0.5, beta2=0.9)(gen),
        ppsci.optimizer.Adam(lr(), beta1=0.5, beta2=0.9)(critic),
        critic_batch_size=32, n_critic=n_critic, generator_batch_size=48, ema_decay=ema,
        output_dir=str(tmp_path), epochs=epochs, iters_per_epoch=iters, log_freq=1000, **kw,
    )


def params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_critic_step_leaves_generator_untouched(tmp_path):
    solver = make_solver(tmp_path)
    before_g, before_d = params(solver.generator_arch), params(solver.critic_arch)
    solver.critic_step()
    assert all(np.array_equal(before_g[k], v) for k, v in params(solver.generator_arch).items())
    assert all(p.grad is None or not p.grad.numpy().any() for p in solver.generator_arch.parameters())
    assert any(not np.array_equal(before_d[k], v) for k, v in params(solver.critic_arch).items())


def test_generator_step_leaves_critic_untouched(tmp_path):
    solver = make_solver(tmp_path)
    before_g, before_d = params(solver.generator_arch), params(solver.critic_arch)
    solver.generator_step()
    assert all(np.array_equal(before_d[k], v) for k, v in params(solver.critic_arch).items())
    assert all(p.grad is None or not p.grad.numpy().any() for p in solver.critic_arch.parameters())
    assert any(not np.array_equal(before_g[k], v) for k, v in params(solver.generator_arch).items())


def test_n_critic_fresh_real_batches_per_iteration(tmp_path):
    solver = make_solver(tmp_path, n_critic=4, epochs=1, iters=5)
    seen, steps = [], {"critic": 0, "generator": 0}
    draw = solver.next_real_batch

    def recording_draw():
        batch = draw()
        seen.append(batch[0]["x"].numpy().copy())
        return batch

    solver.next_real_batch = recording_draw
    for name, opt in (("critic", solver.optimizer_critic), ("generator", solver.optimizer_generator)):
        step = opt.step
        opt.step = lambda step=step, name=name: (steps.__setitem__(name, steps[name] + 1), step())[1]
    solver.train()
    assert steps == {"critic": 20, "generator": 5}
    assert len(seen) == 20
    # consecutive critic steps see different real batches
    assert all(not np.array_equal(a, b) for a, b in zip(seen, seen[1:]))
    assert solver.global_step == 5 and len(solver.history["iteration"]) == 5


def test_generator_batch_differs_from_critic_batch(tmp_path):
    solver = make_solver(tmp_path)
    assert solver.generator_batch_size == 48
    assert list(solver.sample_noise(48)["z"].shape) == [48, 2]


def test_linear_decay_reaches_zero(tmp_path):
    solver = make_solver(tmp_path, epochs=2, iters=3)
    solver.train()
    assert solver.history["lr"][0] == pytest.approx(1e-3 * 5 / 6)
    assert solver.optimizer_generator.get_lr() == pytest.approx(0.0, abs=1e-12)
    assert solver.optimizer_critic.get_lr() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("ema", [None, 0.9])
def test_resume_is_bit_exact(tmp_path, ema):
    full = make_solver(tmp_path / "full", epochs=4, iters=3, ema=ema, save_freq=1)
    full.train()
    expected = (params(full.generator_arch), params(full.critic_arch),
                full.ema_model.state_dict() if ema else None)

    # the same run, stopped after 2 of 4 epochs (as a killed run would be) ...
    part = make_solver(tmp_path / "part", epochs=4, iters=3, ema=ema, save_freq=1)
    part.max_steps = 4 * 3
    for epoch in (1, 2):
        part.train_epoch_func(part, epoch, part.log_freq)
        part.save_training_state()
    # ... and continued by a new process from its checkpoint, with other random state
    resumed = make_solver(tmp_path / "part", epochs=4, iters=3, ema=ema, seed=123, save_freq=1,
                          checkpoint_path=str(tmp_path / "part" / "checkpoints" / "latest"))
    assert resumed.global_step == 6
    resumed.train()
    for want, got in zip(expected[:2], (params(resumed.generator_arch), params(resumed.critic_arch))):
        for k in want:
            assert np.array_equal(want[k], got[k]), k
    if ema:
        got = resumed.ema_model.state_dict()
        for k, v in expected[2].items():
            assert np.array_equal(np.asarray(v), np.asarray(got[k])), k
    assert resumed.history["iteration"] == list(range(1, 13))
    np.testing.assert_array_equal(full.history["critic_loss"], resumed.history["critic_loss"])


def test_a_resumed_second_process_does_not_repeat_the_first_ones_noise(tmp_path):
    solver = make_solver(tmp_path, epochs=1, iters=2)
    solver.train()
    path = solver.save_training_state()
    solver.load_training_state(path)
    rank0 = paddle.randn([4, 2]).numpy()
    solver.rank = 1  # as the second of two processes would be
    solver.load_training_state(path)
    rank1 = paddle.randn([4, 2]).numpy()
    solver.load_training_state(path)
    assert np.array_equal(rank1, paddle.randn([4, 2]).numpy())  # still reproducible
    assert not np.allclose(rank0, rank1)


def test_final_files_are_plain_state_dicts_with_averaged_generator(tmp_path):
    solver = make_solver(tmp_path, ema=0.5)
    solver.train()
    gen_state = paddle.load(str(tmp_path / "model_generator.pdparams"))
    critic_state = paddle.load(str(tmp_path / "model_discriminator.pdparams"))
    assert set(gen_state) == set(solver.generator_arch.state_dict())
    assert set(critic_state) == set(solver.critic_arch.state_dict())
    shadow = solver.ema_model.state_dict()
    for k, v in gen_state.items():
        np.testing.assert_array_equal(np.asarray(v), shadow[k].numpy())
    # the online weights differ from the averaged ones that were written
    online = params(solver.generator_arch)
    assert any(not np.array_equal(online[k], np.asarray(v)) for k, v in gen_state.items())
    assert (tmp_path / "history.csv").read_text().count("\n") == 7
    assert (tmp_path / "loss_curves.png").stat().st_size > 1000


def test_averaged_generator_keeps_its_batch_norm_statistics(tmp_path):
    """The saved averaged generator has the average of the running statistics, not
    their initial mean 0 / variance 1 (which ppsci's averaging alone would write,
    giving wrong images in eval mode)."""
    ppsci.utils.misc.set_random_seed(0)
    images = np.random.default_rng(0).random((16, 3, 32, 32)).astype("float32")
    gen, critic = ResNet32Generator(dim=8), ResNet32Critic(dim=8)
    constraint = ppsci.constraint.SupervisedConstraint(
        {"dataset": {"name": "NamedArrayDataset", "input": {"x": images}}, "batch_size": 4},
        CriticLoss(penalty_weight=10.0), name="critic",
    )
    solver = WGANSolver(
        gen, critic, constraint, GeneratorLoss(),
        ppsci.optimizer.Adam(1e-3)(gen), ppsci.optimizer.Adam(1e-3)(critic),
        critic_batch_size=4, n_critic=1, ema_decay=0.5,
        output_dir=str(tmp_path), epochs=1, iters_per_epoch=3, log_freq=1000,
    )
    solver.train()
    saved = paddle.load(str(tmp_path / "model_generator.pdparams"))
    stats = [k for k in saved if k.endswith(("_mean", "_variance"))]
    assert stats, "the unconditional ResNet generator has running statistics"
    for k in stats:
        initial = 0.0 if k.endswith("_mean") else 1.0
        assert np.abs(np.asarray(saved[k]) - initial).max() > 1e-3, k


def test_nonfinite_loss_stops_and_keeps_last_checkpoint(tmp_path):
    solver = make_solver(tmp_path, epochs=3, iters=2, save_freq=1)
    solver.max_steps = 6
    solver.train_epoch_func(solver, 1, 1000)
    ckpt_path = solver.save_training_state()
    saved = open(ckpt_path, "rb").read()
    solver.critic_constraint.data_loader.dataset.input["x"][:] = np.nan
    with pytest.raises(NonFiniteLossError) as info:
        solver.train_epoch_func(solver, 2, 1000)
    message = str(info.value)
    assert "iteration 3" in message and "nan" in message and ckpt_path in message
    assert open(ckpt_path, "rb").read() == saved


def test_nonfinite_steps_can_be_skipped_and_counted(tmp_path):
    solver = make_solver(tmp_path, epochs=1, iters=2, on_nonfinite="skip")
    with paddle.no_grad():
        solver.critic_arch.net[6].bias.set_value(paddle.full([1], float("nan")))
    before = params(solver.generator_arch)
    solver.train()
    # every critic step (2 iterations x 3) and every generator step (2)
    assert solver.nonfinite_skipped == 8
    assert all(np.array_equal(before[k], v) for k, v in params(solver.generator_arch).items())


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    solver = make_solver(tmp_path)
    path = solver.save_training_state()
    other = ToyGenerator(hidden_dim=32)
    state = paddle.load(path)
    with pytest.raises(CheckpointError) as info:
        from ppsci_ext.solver.checkpoint import load_state_dict_strict

        load_state_dict_strict(other, state["generator"], "latest.pdckpt")
    assert "net.0.weight: file [2, 16], network [2, 32]" in str(info.value)
    # resuming into a wider network fails the same way and changes nothing
    with pytest.raises(CheckpointError, match="does not fit"):
        ppsci.utils.misc.set_random_seed(0)
        gen, critic = ToyGenerator(hidden_dim=32), ToyCritic(hidden_dim=32)
        WGANSolver(gen, critic, solver.critic_constraint, GeneratorLoss(),
                   ppsci.optimizer.Adam(1e-4)(gen), ppsci.optimizer.Adam(1e-4)(critic),
                   critic_batch_size=32, output_dir=str(tmp_path), epochs=1, iters_per_epoch=1, checkpoint_path=path)


def test_truncated_checkpoint_is_reported_by_name(tmp_path):
    solver = make_solver(tmp_path)
    path = solver.save_training_state()
    data = open(path, "rb").read()
    bad = tmp_path / "truncated.pdckpt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pdckpt"):
        make_solver(tmp_path, checkpoint_path=str(bad))
    assert bad.stat().st_size == len(data) // 2  # left as it was


def test_weight_clipping_keeps_critic_in_range(tmp_path):
    solver = make_solver(tmp_path, penalty_weight=0.0, clip_value=0.01, epochs=1, iters=2)
    solver.train()
    assert max(float(p.abs().max()) for p in solver.critic_arch.parameters()) <= 0.01 + 1e-7
    assert "critic_penalty" not in solver.critic_constraint.loss(
        {"score_real": paddle.zeros([1, 1]), "score_fake": paddle.zeros([1, 1])}
    )


def test_lazy_penalty_every_third_critic_step_weighted_by_three(tmp_path):
    solver = make_solver(tmp_path, n_critic=2, epochs=1, iters=3, penalty_interval=3)
    rows = []
    step = solver.critic_step
    solver.critic_step = lambda penalise=True: rows.append(step(penalise=penalise)) or rows[-1]
    solver.train()
    penalised = ["critic_penalty" in r for r in rows]
    assert penalised == [True, False, False, True, False, False]  # counted across iterations
    for r in rows:
        expected = r["critic_wasserstein"] + 3 * r.get("critic_penalty", 0.0)
        assert r["critic_loss"] == pytest.approx(expected, rel=1e-5)
    # an iteration whose critic steps all skipped it (the third) logs no penalty
    # (NaN), not a zero
    assert np.isnan(solver.history["penalty"][2]) and np.isnan(solver.history["grad_norm"][2])
    assert solver.history["penalty"][0] > 0 and solver.history["penalty"][1] > 0
    with pytest.raises(ValueError, match="penalty_interval"):
        make_solver(tmp_path, penalty_interval=0)
