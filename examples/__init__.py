"""The bundled sample article, ingested on first start when the store is empty.

This folder stays at the top level and is also the data package ``qa._examples`` (mapped in
pyproject's ``[tool.setuptools.package-dir]``), so a wheel carries the article too. Only
document files are ingested from here; this file is not one.
"""
