"""Global structured pruning by L2 group magnitude, with the Torch-Pruning library.

Torch-Pruning traces the model, groups every weight that shares a channel (a Linear's output
rows, the next LayerNorm's entries, the next Linear's input columns) and removes whole groups,
ranked across layers by their L2 norm. The result is a smaller dense LiquidNet: tensor shapes
shrink, and the model is rebuilt from a NetConfig of its new sizes so that it saves, loads and
quantizes like any other.

Kept whole: the latent width (it is the student's own search dimension, and the liquid cell's
vectors are not Linear layers Torch-Pruning could follow) and, as in the paper, the first and
last layers (`keep_first_last`). Prunable channels are then the encoder's hidden layer (unless
the first layer is kept) and the decoder's two hidden layers.
"""

from dataclasses import replace

import torch
import torch_pruning as tp

from dlnet.model import LiquidNet


def prune(model: LiquidNet, ratio, keep_first_last=True):
    """Return a new, physically smaller LiquidNet with `ratio` of the prunable channels removed."""
    model = _copy(model).eval()
    example = torch.zeros(1, model.cfg.n_inputs)
    ignored = [model.enc_out, model.dec_out]
    if keep_first_last:
        ignored.append(model.enc_in)
    pruner = tp.pruner.MetaPruner(
        model, example, importance=tp.importance.GroupMagnitudeImportance(p=2),
        global_pruning=True, pruning_ratio=ratio, ignored_layers=ignored,
        unwrapped_parameters=[(p, 0) for p in _latent_parameters(model)])
    pruner.step()
    cfg = replace(model.cfg, enc_hidden=model.enc_in.out_features,
                  dec_hidden=model.dec_in.out_features, dec_mid=model.dec_inner.out_features)
    pruned = LiquidNet(cfg)
    pruned.load_state_dict(model.state_dict())
    return pruned.eval()


def _latent_parameters(model):
    """Parameters Torch-Pruning sees outside Linear/LayerNorm; their dim 0 is the latent width."""
    return [p for n, p in model.cell.named_parameters() if not n.startswith("W.")] + [model.r]


def _copy(model):
    clone = LiquidNet(model.cfg)
    clone.load_state_dict(model.state_dict())
    return clone
