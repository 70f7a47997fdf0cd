"""Sphinx configuration of the course's static site (built by `make site`, see site/build.py).

Sphinx + MyST-NB renders the committed notebooks as they are (``nb_execution_mode = "off"``: no
kernel, no execution). Everything the pages load at view time is local: the theme's assets ship
with sphinx-book-theme, MathJax 2.7 is copied into ``_static/mathjax`` from the
jupyter-server-mathjax package, and the ipywidgets JavaScript (loaded from a CDN by default) is
switched off: explorers show their static figure on the page.
"""
project = "Optimization for training neural networks"
author = "the course authors"
copyright = "the course authors"

extensions = ["myst_nb"]
nb_execution_mode = "off"                 # build from the committed outputs only
nb_ipywidgets_js = {}                     # no require.js / widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_update_mathjax = False               # MathJax 2 below, configured here
myst_heading_anchors = 3

exclude_patterns = ["_build", "exercises", "**.ipynb_checkpoints"]
master_doc = "index"

# --- math: MathJax 2.7 served from _static, no CDN ------------------------------------------
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True},
    # the trimmed MathJax of jupyter-server-mathjax ships the STIX web fonts only
    # HTML-CSS output in every browser (never NativeMML, whose fonts are not shipped)
    "MMLorHTML": {"prefer": "HTML"},
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web",
                 "imageFont": None},
    "menuSettings": {"zoom": "None"},
    "showMathMenu": False,
}

# --- the book -------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_theme_options = {
    "use_download_button": True,      # each page offers its notebook (.ipynb) for download
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "launch_buttons": {},
}
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = True               # the download button serves the source notebook
