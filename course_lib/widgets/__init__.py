"""Interactive explorers (ipywidgets) for the lecture notebooks, one module per explorer.

Every explorer has a static twin that draws the same figure for one setting, so a notebook reads
well without a live kernel and the drawing code can be tested without a browser.

* :mod:`._base`: :class:`Explorer`, the one shape of every explorer (controls, readout, figure).
* :mod:`.learning_rate` (chapter 02): :class:`LearningRateExplorer`, :func:`plot_gd_path`,
  :func:`lr_regime`.
"""
from ._base import Explorer
from .learning_rate import DEFAULT_W0, LearningRateExplorer, lr_regime, plot_gd_path
from .momentum import MomentumExplorer, momentum_setting, plot_momentum_path, plot_rate_map  # chapters 05-06
from .race import OptimizerRace, plot_race, race  # chapter 07: the optimizer race
from .vanishing import VanishingGradientExplorer, gradient_norm_profile, plot_gradient_norm_profile  # chapter 09

__all__ = ["Explorer", "DEFAULT_W0", "LearningRateExplorer", "lr_regime", "plot_gd_path"]
