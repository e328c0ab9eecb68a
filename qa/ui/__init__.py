"""The Gradio chat page: layout and handlers (``page``), HTML (``render``), look (``theme``)."""

from qa.ui.page import build_ui

__all__ = ["build_ui"]
