"""Show a returned matplotlib ``Figure`` as a picture in Jupyter, with or without ``%matplotlib inline``.

course_lib builds its figures with ``Figure()`` rather than ``plt.figure()`` (nothing piles up in pyplot, nothing
is drawn twice), and returns them. Jupyter draws a returned object with the display formatter registered for its
type; IPython registers one for ``Figure`` only when ``%matplotlib inline`` runs. Without it (matplotlib 3.11,
ipykernel 7) a learner would see ``<Figure size 640x480 with 1 Axes>``. This module registers the same PNG
formatter that ``%matplotlib inline`` registers, once, and only where none is registered yet.
"""

from __future__ import annotations

from matplotlib.figure import Figure


def enable_inline_figures() -> bool:
    """Register a PNG display for ``Figure`` in the running IPython kernel; returns True if it registered one.

    Does nothing outside IPython, or where a formatter for ``Figure`` already exists (for example after
    ``%matplotlib inline`` or ``%matplotlib widget``).

    Examples
    --------
    >>> enable_inline_figures()   # plain Python: no IPython kernel, nothing to do
    False
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return False
    shell = get_ipython()
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return False
    png = formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
        return False
    except KeyError:
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))
        return True
