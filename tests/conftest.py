"""Shared pytest configuration.

tests/fixtures holds notebooks that are *submissions* for the grading tests (some deliberately
broken); they must never be collected by ``--nbval``.
"""
import matplotlib

# only this process: do NOT set MPLBACKEND in os.environ, the nbval kernels inherit it and would
# lose their inline figures
matplotlib.use("Agg")

collect_ignore_glob = ["fixtures/*", "fixtures/**"]
