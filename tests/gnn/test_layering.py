"""gnn/ is layered.

Loading a model does not load the graph driver, the text encoder or the training
stack.
"""

from __future__ import annotations

import json
import subprocess
import sys


def test_loading_the_model_and_a_checkpoint_loads_no_driver_encoder_or_trainer() -> None:
    code = (
        "import json, sys; import kgrec.gnn.model, kgrec.gnn.checkpoint, kgrec.gnn.inference; "
        "print(json.dumps(sorted(m for m in ('neo4j', 'transformers', 'kgrec.gnn.trainer', "
        "'kgrec.gnn.snapshot', 'kgrec.graph') if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
