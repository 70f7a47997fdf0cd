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

__all__ = ["Explorer", "blit_png"]


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


def blit_png(fig, state: dict, hidden, redraw) -> bytes:
    """The figure as PNG by blitting: a background saved once, the changed artists drawn over it.

    fig : a Figure on an Agg canvas (an Explorer's ``figure``).
    state : a dict the caller keeps; ``state["background"]`` holds the saved background (pop it to
        save a new one, e.g. after the layout changed).
    hidden : the artists left out of the background (those that change between redraws).
    redraw : the artists drawn in this order over the background: the hidden ones, then whatever
        must stay on top of them (a legend, a start marker). An Axes in the list is drawn whole.

    About ten times cheaper than drawing the whole figure when the background holds the expensive
    part (contours, colour bars, tick labels).
    """
    import io

    from PIL import Image

    canvas = fig.canvas
    if state.get("background") is None:
        for artist in hidden:
            artist.set_visible(False)
        canvas.draw()
        state["background"] = canvas.copy_from_bbox(fig.bbox)
        for artist in hidden:
            artist.set_visible(True)
    canvas.restore_region(state["background"])
    renderer = canvas.get_renderer()
    for artist in redraw:
        if artist is not None:
            artist.draw(renderer)
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()
