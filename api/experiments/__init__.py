"""Experiments: arms with ranking overrides, assignment, the event log and the A/B report.

Assignment is deterministic; docs/experiments.md describes the whole.

One job per module: :mod:`~kgrec.api.experiments.arms` (the frozen dataclasses),
:mod:`~kgrec.api.experiments.config` (the TOML file and its checks),
:mod:`~kgrec.api.experiments.assignment` (hash -> bucket -> arm),
:mod:`~api.experiments.log` (the append-only, fsynced event log),
:mod:`~kgrec.api.experiments.serving` (what the service does per answer and event),
:mod:`~kgrec.api.experiments.stats` (intervals, tests, sample sizes),
:mod:`~kgrec.api.experiments.report` (the log tallied into a report per arm) and
:mod:`~kgrec.api.experiments.chart` (its PNG).
"""
