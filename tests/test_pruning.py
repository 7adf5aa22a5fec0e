import torch

from dlnet import model as net
from dlnet.cost import costs
from dlnet.pruning import prune


def test_pruning_shrinks_tensors_and_keeps_the_model_working(tmp_path):
    from dlnet.scaling import Scaler

    torch.manual_seed(0)
    m = net.LiquidNet(net.student_config(4, 32, 32, 16)).eval()
    p = prune(m, 0.5)
    assert p.dec_in.weight.shape[0] < 32 and p.dec_inner.weight.shape[0] < 16
    assert p.dec_norm.weight.shape[0] == p.dec_in.weight.shape[0] == p.dec_inner.weight.shape[1]
    assert p.enc_in.weight.shape == m.enc_in.weight.shape       # first layer kept whole
    assert p.dec_out.weight.shape[0] == 100                      # last layer kept whole
    assert p.cfg.width == 4
    assert net.n_params(p) < net.n_params(m)
    x = torch.randn(8, 100)
    assert torch.isfinite(p(x)).all()
    scaler = Scaler("minmax", 1.0)
    torch.save(net.checkpoint(m, scaler), tmp_path / "a.pt")
    torch.save(net.checkpoint(p, scaler), tmp_path / "b.pt")
    assert (tmp_path / "b.pt").stat().st_size < (tmp_path / "a.pt").stat().st_size
    reloaded, _, _ = net.load(tmp_path / "b.pt")
    assert torch.equal(reloaded(x), p(x))


def test_pruning_removes_the_smallest_groups_first():
    torch.manual_seed(0)
    m = net.LiquidNet(net.student_config(4, 16, 8, 8)).eval()
    with torch.no_grad():
        m.dec_in.weight[3].mul_(1e-3)     # channel 3 of the decoder's first layer is tiny
        m.dec_norm.weight[3] = 1e-3
        m.dec_inner.weight[:, 3] *= 1e-3
    kept = m.dec_in.weight.clone()
    p = prune(m, 0.1)
    assert p.dec_in.weight.shape[0] == 7
    survivors = [i for i in range(8) if any(torch.equal(p.dec_in.weight[j], kept[i]) for j in range(7))]
    assert 3 not in survivors


def test_ratio_orders_the_cost():
    m = net.LiquidNet(net.student_config(8, 64, 64, 32)).eval()
    sizes = [costs(prune(m, r))["params"] for r in (0.1, 0.5, 0.9)]
    assert sizes[0] > sizes[1] > sizes[2]


def test_pruning_the_first_layer_when_allowed():
    m = net.LiquidNet(net.student_config(4, 32, 32, 16)).eval()
    p = prune(m, 0.5, keep_first_last=False)
    assert p.enc_in.weight.shape[0] < 32 and p.enc_norm.weight.shape[0] == p.enc_in.weight.shape[0]
