import torch

from dlnet import model as net


def test_teacher_has_the_papers_parameter_count():
    assert net.n_params(net.LiquidNet(net.teacher_config())) == 155_749


def test_student_is_one_euler_step_of_the_low_rank_liquid_cell():
    torch.manual_seed(0)
    cfg = net.student_config(width=3, enc_hidden=5, dec_hidden=4, dec_mid=4, rank=1, dt=0.05,
                             input_len=6, output_len=2, dropout=0.0)
    m = net.LiquidNet(cfg).eval()
    cell = m.cell
    with torch.no_grad():
        cell.d.copy_(torch.tensor([0.5, -1.0, 2.0]))
        cell.U.copy_(torch.tensor([[1.0], [0.0], [-2.0]]))
        cell.V.copy_(torch.tensor([[0.5], [1.0], [0.0]]))
        cell.b.copy_(torch.tensor([0.1, 0.2, 0.3]))
        cell.alpha.copy_(torch.tensor([1.0, 2.0, 0.5]))
        cell.beta.copy_(torch.tensor([1.0, -1.0, 3.0]))
        cell.w_u.copy_(torch.tensor([0.0, 1.0, -1.0]))
    h0 = torch.tensor([[0.2, -0.4, 0.6]])
    u = torch.tensor([[0.5]])
    # by hand: C(h) = d*h + U (V^T h) + b; V^T h0 = 0.1 - 0.4 = -0.3
    coupled = [0.5 * 0.2 + 1.0 * -0.3 + 0.1, -1.0 * -0.4 + 0.0 + 0.2, 2.0 * 0.6 + -2.0 * -0.3 + 0.3]
    drive = [c + w * 0.5 for c, w in zip(coupled, [0.0, 1.0, -1.0])]
    expected = [h + 0.05 * (-a * h + b * torch.tanh(torch.tensor(p)).item())
                for h, a, b, p in zip([0.2, -0.4, 0.6], [1.0, 2.0, 0.5], [1.0, -1.0, 3.0], drive)]
    assert torch.allclose(cell(h0, u), torch.tensor([expected]), atol=1e-6)
    assert cell.steps == 1


def test_teacher_takes_nine_euler_steps_over_unit_time():
    cfg = net.teacher_config()
    cell = net.LiquidNet(cfg).cell
    assert cell.steps == 9 and abs(cell.steps * cell.dt - 1.0) < 1e-12
    assert cell.coupling == "full"


def test_forward_shapes_and_checkpoint_round_trip(tmp_path):
    from dlnet.scaling import Scaler

    m = net.LiquidNet(net.student_config(4, 16, 16, 8)).eval()
    x = torch.randn(5, 100)
    assert m(x).shape == (5, 100)
    scaler = Scaler("anchored", 0.2, anchor_len=10)
    path = tmp_path / "model.pt"
    torch.save(net.checkpoint(m, scaler, seed=1), path)
    m2, s2, ck = net.load(path)
    assert torch.equal(m(x), m2(x)) and s2.to_dict() == scaler.to_dict() and ck["seed"] == 1


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    import pytest

    from dlnet.errors import InputError

    path = tmp_path / "model.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError,
                       match="model.pt.*not a DLNet checkpoint.*delete it and run snakemake again"):
        net.load(path)
