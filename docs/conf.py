"""Sphinx configuration for the ctfa_brian documentation.

Build (warnings are errors; nothing is downloaded, nothing is simulated or compiled — autodoc
only imports the modules)::

    python -m sphinx -W --keep-going -b html docs /tmp/docs_html

The Markdown pages are read by MyST, the API reference (``reference/``) by autodoc + numpydoc.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout

import ctfa_brian  # noqa: E402

project = "ctfa_brian"
author = "ctfa_brian contributors"
copyright = "the ctfa_brian contributors"
version = release = ctfa_brian.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
# No intersphinx: the build must not reach the network.

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# `name` in a docstring is a cross reference (to the object where it resolves, code otherwise).
default_role = "py:obj"
exclude_patterns = ["_build"]

# MyST: `[text](page.md#heading)` links resolve to the heading's anchor (GitHub-style slugs,
# the same the pages use on GitHub), for headings of every level.
myst_heading_anchors = 6

# autodoc: document what each module lists in __all__, in that order (source order where a module
# has none); signatures without the type hints (numpydoc has the types in its Parameters section).
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
autodoc_preserve_defaults = True
autosummary_generate = False  # the reference pages are written by hand, nothing is generated

# numpydoc: no automatic class-member tables (autodoc lists the members), and no cross
# references made from the free-text types in docstrings ("Quantity, optional").
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

html_theme = "alabaster"
html_title = f"ctfa_brian {release}"
html_static_path = []
html_theme_options = {"description": "Continuous-time feedback alignment for Brian2"}


def _dataclass_defaults(app, what, name, obj, options, signature, return_annotation):
    """Show a dataclass field's ``default_factory`` value (``tau_prop=10. * msecond``) in the
    signature in place of ``<factory>``."""
    import dataclasses

    if what != "class" or not signature or not dataclasses.is_dataclass(obj):
        return None
    for f in dataclasses.fields(obj):
        if f.default_factory is not dataclasses.MISSING:
            signature = signature.replace(f"{f.name}=<factory>",
                                          f"{f.name}={f.default_factory()!r}", 1)
    return signature, return_annotation


def setup(app):
    app.connect("autodoc-process-signature", _dataclass_defaults)
