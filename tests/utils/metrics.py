"""Reading ``/metrics`` answers with prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition text, keyed by (sample name, labels).

    The parser raises on text that is not the Prometheus text format, so reading an
    answer also checks its syntax.
    """
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the one sample ``name{labels}`` (exact label set) in ``text``.

    Raises:
        AssertionError: no such sample; the message lists the samples of that name.
    """
    found = samples(text)
    key = (name, frozenset(labels.items()))
    if key not in found:
        same_name = sorted(str(dict(pairs)) for (n, pairs) in found if n == name)
        raise AssertionError(f"no sample {name}{labels}; samples of that name: {same_name}")
    return found[key]
