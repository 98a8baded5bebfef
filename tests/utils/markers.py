"""Skip markers for what a machine may lack, defined once."""

from __future__ import annotations

import pytest
import torch

from kgrec.gnn.pyg_sampler import pyg_sampling_available

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device on this machine"
)
"""Skips a test where no CUDA device is present (add ``pytest.mark.gpu`` to select it)."""

requires_pyg = pytest.mark.skipif(
    not pyg_sampling_available(),
    reason="neither pyg-lib nor torch-sparse is importable (no wheel for this torch); "
    "the plain-torch sampler runs instead",
)
"""Skips a test of PyG's neighbour sampler where its compiled backends are missing."""
