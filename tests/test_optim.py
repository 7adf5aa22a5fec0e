import subprocess
import sys

import numpy as np
import pytest
import torch

from dlnet import model as net
from dlnet.optim import FlatAdamW, cosine_lr


def two_models(seed=0):
    cfg = net.student_config(4, 16, 16, 8, input_len=20, output_len=10, dropout=0.0)
    torch.manual_seed(seed)
    a = net.LiquidNet(cfg)
    b = net.LiquidNet(cfg)
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("clip", [1.0, 1e-3])   # the second clips every step
def test_flat_adamw_takes_torch_adamw_steps(clip):
    a, b = two_models()
    ref = torch.optim.AdamW(a.parameters(), lr=0.0, weight_decay=0.01, fused=True)
    flat = FlatAdamW(b.parameters(), weight_decay=0.01)
    rng = torch.Generator().manual_seed(1)
    for step in range(30):
        x, y = torch.randn(16, 20, generator=rng), torch.randn(16, 10, generator=rng)
        lr = cosine_lr(0.01, step, 30)
        ref.param_groups[0]["lr"] = lr
        ref.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(a(x), y).backward()
        torch.nn.utils.clip_grad_norm_(a.parameters(), clip)
        ref.step()
        flat.zero_grad()
        torch.nn.functional.mse_loss(b(x), y).backward()
        flat.clip_grad_norm(clip)
        flat.step(lr)
    start = two_models()[0]
    moved = [float((p - q).detach().abs().max())
             for p, q in zip(a.parameters(), start.parameters())]
    assert min(moved) > 1e-3     # every parameter was updated
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_cosine_lr_is_torch_cosine_annealing():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.004)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=25)
    for epoch in range(25):
        assert cosine_lr(0.004, epoch, 25) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        opt.step()
        sched.step()
    assert cosine_lr(0.004, 0, 25) == 0.004


def test_released_parameters_own_their_storage_and_keep_their_values():
    a, b = two_models()
    flat = FlatAdamW(b.parameters(), weight_decay=0.0)
    shared = {p.untyped_storage().data_ptr() for p in b.parameters()}
    assert len(shared) == 1
    flat.release()
    for p, q in zip(a.parameters(), b.parameters()):
        assert q.grad is None
        assert q.untyped_storage().nbytes() == q.numel() * q.element_size()
        assert torch.equal(p, q)


def test_training_does_not_import_the_compiler():
    """torch.optim and torch.use_deterministic_algorithms import torch._dynamo: seconds a job."""
    code = (
        "import dlnet, sys, numpy as np\n"
        "from dlnet import model as net\n"
        "from dlnet.training import TrainConfig, fit, set_determinism\n"
        "set_determinism(0, 1)\n"
        "m = net.LiquidNet(net.student_config(4, 8, 8, 8, input_len=20, output_len=10))\n"
        "x, y = np.zeros((8, 20), np.float32), np.zeros((8, 10), np.float32)\n"
        "fit(m, TrainConfig(epochs=2, batch_size=4), (x, y), (x, y), 1.0, log=lambda s: None)\n"
        "import torch\n"
        "compiler = ('torch._dynamo', 'torch._inductor')\n"
        "print(torch.are_deterministic_algorithms_enabled(),\n"
        "      torch.is_deterministic_algorithms_warn_only_enabled(),\n"
        "      sorted(k for k in sys.modules if k.startswith(compiler)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True False []"   # deterministic, erring, and no compiler
