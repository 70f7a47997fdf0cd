"""Shared pytest configuration.

tests/fixtures holds notebooks that are *submissions* for the grading tests (some deliberately
broken); they must never be collected by ``--nbval``.
"""
import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

collect_ignore_glob = ["fixtures/*", "fixtures/**"]
