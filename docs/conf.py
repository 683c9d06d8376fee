"""Sphinx configuration of the sknn_scratch documentation (``sphinx-build -W docs docs/_build/html``)."""

import sknn_scratch

project = "sknn_scratch"
author = "The sknn_scratch developers"
version = release = sknn_scratch.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.intersphinx", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
autosummary_generate = True
autodoc_default_options = {}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
suppress_warnings = ["myst.header"]
intersphinx_mapping = {}
html_theme = "pydata_sphinx_theme"
html_title = f"sknn_scratch {release}"
html_theme_options = {"navigation_with_keys": False}
nitpicky = False
