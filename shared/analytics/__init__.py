"""Productivity analytics shared by the analytics API, the rollup job and the reports."""
