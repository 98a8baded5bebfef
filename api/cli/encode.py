"""``kgrec encode``: encode texts with the configured text encoder and show the vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from kgrec.api.cli._app import app, settings_of

SHOWN_VALUES = 6


@app.command("encode")
def encode(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="One or more texts to encode.")],
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Local model directory (default: KGREC_TEXT__MODEL)."),
    ] = None,
) -> None:
    """Print each text's vector width, norm and first values, and their cosine similarities."""
    from kgrec.text_encoders import load_encoder  # torch and transformers load only when used

    settings = settings_of(ctx)
    encoder = load_encoder(settings.text, settings.paths.onnx_models, model=model)
    vectors = encoder.encode(texts)
    typer.echo(
        f"model {encoder.model_id} ({encoder.backend} on {encoder.device}), dim {encoder.dim}"
    )
    for text, v in zip(texts, vectors, strict=True):
        head = ", ".join(f"{x:+.4f}" for x in v[:SHOWN_VALUES])
        typer.echo(f"{text[:40]!r:<44} norm {np.linalg.norm(v):.4f}  [{head}, ...]")
    if len(texts) > 1:
        sims = vectors @ vectors.T
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                typer.echo(f"cosine({i}, {j}) = {sims[i, j]:.4f}")
