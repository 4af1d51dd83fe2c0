"""Metrics, as plain functions and as ``ppsci.metric.FunctionalMetric`` objects."""
