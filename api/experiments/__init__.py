"""Experiments: arms with ranking overrides, assignment, the event log and the A/B report.

Assignment is deterministic; docs/experiments.md describes the whole.

One job per module: :mod:`~api.experiments.arms` (the frozen dataclasses),
:mod:`~api.experiments.config` (the TOML file and its checks),
:mod:`~api.experiments.assignment` (hash -> bucket -> arm),
:mod:`~api.experiments.log` (the append-only, fsynced event log),
:mod:`~api.experiments.serving` (what the service does per answer and event),
:mod:`~api.experiments.stats` (intervals, tests, sample sizes),
:mod:`~api.experiments.report` (the log tallied into a report per arm) and
:mod:`~api.experiments.chart` (its PNG).
"""
