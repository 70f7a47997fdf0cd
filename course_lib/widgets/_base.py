"""The one shape of every explorer widget in the course.

An explorer is a column of controls (sliders, dropdowns, check boxes), an HTML *readout* with the
measured numbers of the current setting, and the figure, rendered to PNG in an
``ipywidgets.Image``. Subclasses say what to draw; this class wires the controls, times each
redraw and renders the figure.

Why an ``Image`` and not the usual ``Output`` widget: when a notebook is executed headless
(``jupyter nbconvert --execute``, nbval), nbclient mirrors captured ``Output`` contents by sending
messages on the kernel's shell channel while it waits for the cell's reply there, which can
deadlock the run (jupyter/nbclient#312). An ``Image`` only changes its own value.

The figure is a ``matplotlib.figure.Figure`` on an Agg canvas that pyplot does not manage (it never
pops up a second time) and that lives as long as the explorer: :meth:`Explorer.setup` draws what
never changes (contours, axes, labels) once, :meth:`Explorer.update` changes the artists of the
current setting, and :meth:`Explorer.render_png` turns it into the image (an explorer may redraw
only the changed artists over a saved background there).

The DOM carries CSS classes for browser tests: ``course-explorer`` (the whole widget),
``course-explorer-readout`` (the numbers) and ``course-explorer-figure`` (the image).
"""
from __future__ import annotations

import io
import time

__all__ = ["Explorer"]


class Explorer:
    """Base class: controls + readout + figure; subclasses implement ``setup`` and ``update``.

    Parameters
    ----------
    controls : dict name -> ipywidgets value widget; ``update`` receives their values by name.
    header : HTML shown above the controls (what the explorer shows, the theory to compare with).
    figsize, dpi : size of the figure.

    Attributes
    ----------
    controls, readout (ipywidgets.HTML), image (ipywidgets.Image), widget (the ipywidgets.VBox),
    figure (matplotlib Figure), redraw_seconds (wall time of the last redraw: update + PNG).
    """

    def __init__(self, controls: dict, *, header: str = "", figsize=(11, 4.2), dpi: int = 90):
        import ipywidgets as widgets
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.controls = dict(controls)
        self.figure = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(self.figure)                 # renders to PNG without pyplot
        self.image = widgets.Image(format="png")
        self.image.add_class("course-explorer-figure")
        self.readout = widgets.HTML()
        self.readout.add_class("course-explorer-readout")
        parts = ([widgets.HTML(header)] if header else []) + list(self.controls.values())
        self.widget = widgets.VBox(parts + [self.readout, self.image])
        self.widget.add_class("course-explorer")
        self.redraw_seconds = None
        self.setup(self.figure)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.redraw()

    # --- what a subclass writes ----------------------------------------------------------------
    def setup(self, fig) -> None:
        """Draw what does not depend on the controls (called once). Default: nothing."""

    def update(self, fig, **values) -> str:
        """Draw the current setting on ``fig``; return the readout text (HTML)."""
        raise NotImplementedError

    def render_png(self, fig) -> bytes:
        """The figure as PNG bytes. Default: draw everything; an explorer whose static part is
        expensive overrides this to redraw only what ``update`` changed (blitting)."""
        buffer = io.BytesIO()
        fig.canvas.print_png(buffer)
        return buffer.getvalue()

    # --- the machinery -------------------------------------------------------------------------
    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Update the figure for the controls' values, render it and refresh the readout."""
        start = time.perf_counter()
        self.readout.value = self.update(self.figure, **self.values())
        self.image.value = self.render_png(self.figure)
        self.redraw_seconds = time.perf_counter() - start

    def display(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
