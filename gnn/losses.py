"""The BPR loss of the GNN trainer and the MF-BPR baseline."""

from __future__ import annotations

import torch
from torch import Tensor


def bpr_loss(user: Tensor, positive: Tensor, negative: Tensor, weight_decay: float) -> Tensor:
    """Mean BPR loss of (user, positive, negative) triples with an L2 penalty on their vectors.

    ``-mean(log sigmoid(u.p - u.n)) + weight_decay * mean(|u|^2 + |p|^2 + |n|^2)``.

    This is the value of PyG's ``torch_geometric.nn.models.lightgcn.BPRLoss``
    (``lambda_reg=weight_decay``, the three batches as its ``parameters``) up to float
    rounding (tested): PyG squares one norm over the whole batch, which moves the
    loss by about 1e-6 relative on 8,192 x 64 batches, so a seeded run would no
    longer give the numbers it gave; this keeps the sums per row.

    Args:
        user: [B, D] user vectors.
        positive: [B, D] vectors of the products the users interacted with.
        negative: [B, D] vectors of the sampled negative products.
        weight_decay: weight of the L2 penalty.

    Returns:
        The scalar loss.
    """
    diff = (user * positive).sum(-1) - (user * negative).sum(-1)
    penalty = user.pow(2).sum(-1) + positive.pow(2).sum(-1) + negative.pow(2).sum(-1)
    return -torch.nn.functional.logsigmoid(diff).mean() + weight_decay * penalty.mean()
