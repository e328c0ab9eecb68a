"""Prompt templates as plain files, loaded by name (``qa.prompts.load_prompt``).

This folder stays at the top level and is also the data package ``qa._prompts`` (mapped in
pyproject's ``[tool.setuptools.package-dir]``), so a wheel carries the templates and
``importlib.resources`` finds them wherever citeqa is installed.
"""
