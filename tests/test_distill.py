import pytest
import torch
import torch.nn.functional as F

from dlnet.distill import distill_loss, lambda_at


def test_lambda_rises_linearly_from_start_to_end():
    values = [lambda_at(e, 5, 0.1, 0.9) for e in range(5)]
    assert values == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])
    assert lambda_at(0, 1) == 0.1
    assert lambda_at(199, 200) == pytest.approx(0.9)


def test_distillation_loss_mixes_target_and_teacher():
    s, y, t = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    mse_y, mse_t = F.mse_loss(s, y).item(), F.mse_loss(s, t).item()   # 0.5, 2.0
    assert distill_loss(s, y, t, 0.25).item() == pytest.approx(0.25 * mse_y + 0.75 * mse_t)
    cos = distill_loss(s, y, t, 0.0, "cosine").item()
    assert cos == pytest.approx(1 - 1 / 5 ** 0.5)
    with pytest.raises(ValueError):
        distill_loss(s, y, t, 0.5, "kl")
