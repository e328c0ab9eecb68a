"""The Gradio chat page: layout (``page``), what its events do (``handlers``; conversations,
feedback and insights in ``history``), HTML (``render``), look (``theme``)."""

from qa.ui.page import build_ui

__all__ = ["build_ui"]
