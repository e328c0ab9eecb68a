"""Developer tools that check the house: ``python -m qa.tools.layout``."""
