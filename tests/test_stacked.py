"""Seeds trained together, stacked (dlnet/stacked.py, training.fit_members): each member is the
run its seed would make alone, up to float rounding."""

import numpy as np
import pytest
import torch

from dlnet import model as net
from dlnet.optim import FlatAdamW
from dlnet.stacked import StackedLiquidNet
from dlnet.training import TrainConfig, fit, fit_members, fit_seeds, set_determinism

STUDENT = net.student_config(4, 16, 16, 8, input_len=20, output_len=10, signals=1)
TEACHER = net.teacher_config(20, 10, enc_hidden=16, width=8, dec_hidden=16, dec_mid=8, steps=3,
                             dt=1 / 3, signals=1)


def data(n, seed):
    rng = np.random.default_rng(seed)
    slope = rng.uniform(-0.5, 0.0, size=(n, 1))
    x = np.hstack([slope * np.linspace(-1, 0, 20), rng.uniform(0, 1, (n, 1))])
    return x.astype(np.float32), (slope * np.linspace(0.05, 0.5, 10)).astype(np.float32)


def built(cfg, seed):
    torch.manual_seed(seed)
    return net.LiquidNet(cfg)


def close(a, b, tol):
    return all(torch.allclose(a[k], b[k], rtol=0, atol=tol) for k in a)


@pytest.mark.parametrize("cfg", [STUDENT, TEACHER], ids=["lowrank", "full"])
def test_a_stacked_forward_is_each_members_own(cfg):
    models = [built(cfg, s) for s in (1, 2, 3)]
    stacked = StackedLiquidNet(models).eval()
    x = torch.as_tensor(data(40, 0)[0])
    with torch.no_grad():
        out = stacked(x.expand(3, -1, -1))
        for k, m in enumerate(models):
            assert torch.allclose(out[k], m.eval()(x), atol=1e-6)
            assert close(stacked.state_of(k), m.state_dict(), 0)


def test_a_stacked_member_draws_its_seeds_dropout_masks():
    """F.dropout after torch.manual_seed(s) and the member's generator seeded with s drop the
    same units."""
    models = [built(STUDENT, s) for s in (1, 2)]
    stacked = StackedLiquidNet(models).train()
    x = torch.as_tensor(data(40, 0)[0])
    out = stacked(x.expand(2, -1, -1), [torch.Generator().manual_seed(s) for s in (5, 6)])
    for k, seed in enumerate((5, 6)):
        torch.manual_seed(seed)
        assert torch.allclose(out[k], models[k].train()(x), atol=1e-6)


def test_stacked_adamw_clips_each_member_by_its_own_norm():
    """One member's huge gradient is clipped without shrinking the other's."""
    a, b = torch.zeros(2, 3, requires_grad=True), torch.zeros(2, 4, requires_grad=True)
    opt = FlatAdamW([a, b], weight_decay=0.0, members=2)
    a.grad[0], b.grad[0] = 100.0, 100.0
    a.grad[1], b.grad[1] = 0.01, 0.01
    opt.clip_grad_norm(1.0)
    assert torch.linalg.vector_norm(opt.grad[0]).item() == pytest.approx(1.0, rel=1e-5)
    assert torch.allclose(opt.grad[1], torch.full((7,), 0.01))


@pytest.mark.parametrize("cfg", [STUDENT, TEACHER], ids=["lowrank", "full"])
@pytest.mark.parametrize("teacher", [False, True], ids=["targets", "distilled"])
def test_stacked_training_is_each_seeds_run_alone(cfg, teacher):
    """Four epochs, dropout on: each member's history, best epoch and weights are those of
    `fit` with its seed, to float rounding (batched products and the unfused LayerNorm round
    differently)."""
    set_determinism(0, 1)
    train, val = data(96, 0), data(32, 1)
    t = train[1] * 0.9 if teacher else None
    seeds = [7, 8, 9]
    alone = []
    for s in seeds:
        m = built(cfg, s)
        history, best = fit(m, TrainConfig(epochs=4, batch_size=16, seed=s), train, val, 1.0,
                            teacher_train=t, log=lambda _: None)
        alone.append((m, history, best))
    models = [built(cfg, s) for s in seeds]
    together = fit_members(models, TrainConfig(epochs=4, batch_size=16), seeds, train, val, 1.0,
                           teacher_train=t, logs=[lambda _: None] * 3)
    for (m, history, best), model, (h, b) in zip(alone, models, together):
        assert b == best
        assert np.allclose([r["val_loss"] for r in h], [r["val_loss"] for r in history],
                           rtol=1e-4)
        assert np.allclose([r["train_loss"] for r in h], [r["train_loss"] for r in history],
                           rtol=1e-4)
        assert close(model.state_dict(), m.state_dict(), 1e-5)


def test_each_member_stops_at_its_own_patience():
    """With a patience, a member's history ends where its run alone would stop, while the
    others train on."""
    set_determinism(0, 1)
    train, val = data(96, 0), data(32, 1)
    seeds = [3, 4, 5, 6]
    cfg = TrainConfig(epochs=40, batch_size=32, lr=0.02, patience=3)
    alone = []
    for s in seeds:
        history, best = fit(built(STUDENT, s), TrainConfig(**{**cfg.__dict__, "seed": s}), train,
                            val, 1.0, log=lambda _: None)
        alone.append((len(history), best))
    together = fit_members([built(STUDENT, s) for s in seeds], cfg, seeds, train, val, 1.0,
                           logs=[lambda _: None] * 4)
    assert [(len(h), b) for h, b in together] == alone
    assert len({n for n, _ in alone}) > 1, "the members should stop at different epochs"


def test_fit_seeds_stacks_one_shape_and_trains_another_alone():
    set_determinism(0, 1)
    train, val = data(96, 0), data(32, 1)
    wider = net.student_config(8, 16, 16, 8, input_len=20, output_len=10, signals=1)
    models = [built(STUDENT, 1), built(wider, 2), built(STUDENT, 3)]
    logged = [[], [], []]
    out = fit_seeds(models, [1, 2, 3], TrainConfig(epochs=2, batch_size=32), train, val, 1.0,
                    logs=[lst.append for lst in logged])
    alone = built(wider, 2)
    history, best = fit(alone, TrainConfig(epochs=2, batch_size=32, seed=2), train, val, 1.0,
                        log=lambda _: None)
    untimed = [[{k: v for k, v in row.items() if k != "seconds"} for row in h]
               for h in (out[1][0], history)]
    assert untimed[0] == untimed[1] and out[1][1] == best
    assert close(models[1].state_dict(), alone.state_dict(), 0), "alone: the very same numbers"
    assert out[0][2] == out[2][2] != out[1][2], "the stacked pair shares its seconds"
    assert all(len(lines) == 3 for lines in logged)  # two epochs and the best epoch


def test_members_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="one NetConfig"):
        StackedLiquidNet([built(STUDENT, 1), built(TEACHER, 2)])


def test_the_cosine_divergence_trains_each_member_as_alone():
    set_determinism(0, 1)
    train, val = data(96, 0), data(32, 1)
    t = train[1] * 0.9
    cfg = TrainConfig(epochs=2, batch_size=16, divergence="cosine")
    alone = []
    for s in (1, 2):
        m = built(STUDENT, s)
        fit(m, TrainConfig(**{**cfg.__dict__, "seed": s}), train, val, 1.0, teacher_train=t,
            log=lambda _: None)
        alone.append(m)
    models = [built(STUDENT, s) for s in (1, 2)]
    fit_members(models, cfg, [1, 2], train, val, 1.0, teacher_train=t,
                logs=[lambda _: None] * 2)
    for a, b in zip(alone, models):
        assert close(a.state_dict(), b.state_dict(), 1e-5)


def test_a_stacked_member_round_trips_whatever_its_shapes():
    """Sizes of one (rank 1, one input, width 1) keep their LiquidNet shapes."""
    for cfg in (net.student_config(4, 16, 16, 8, input_len=20, output_len=10, rank=1),
                net.student_config(1, 16, 16, 1, input_len=1, output_len=10)):
        models = [built(cfg, s) for s in (1, 2)]
        stacked = StackedLiquidNet(models)
        for k, m in enumerate(models):
            assert close(stacked.state_of(k), m.state_dict(), 0)


def test_stacked_training_needs_a_generator_per_member():
    stacked = StackedLiquidNet([built(STUDENT, 1), built(STUDENT, 2)]).train()
    with pytest.raises(ValueError, match="one generator per member"):
        stacked(torch.zeros(2, 3, 21))
