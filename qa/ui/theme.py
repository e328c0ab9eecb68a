"""Look of the chat page: a Gradio theme and the CSS for answers, source cards and panels.

Fonts are system font names on purpose: a web font would be fetched from the network.
Colours come from the theme's CSS variables, so light and dark mode both work.
"""

from __future__ import annotations

import gradio as gr

SYSTEM_FONTS = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")

THEME = gr.themes.Soft(
    primary_hue="indigo",
    secondary_hue="sky",
    neutral_hue="slate",
    font=SYSTEM_FONTS,
    font_mono=MONO_FONTS,
)

CSS = """
.gradio-container {
  width: 100% !important; max-width: 1280px !important; margin: 0 auto !important;
}
.cq-header { display: flex; gap: 14px; align-items: center; padding: 6px 2px 2px; }
.cq-header h1 { margin: 0; font-size: 1.55rem; font-weight: 700; letter-spacing: -0.01em; }
.cq-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); font-size: 0.95rem; }
.cq-logo {
  flex: none; width: 42px; height: 42px; border-radius: 12px; display: grid; place-items: center;
  background: linear-gradient(135deg, var(--primary-500), var(--secondary-500));
  color: white; font-size: 28px; line-height: 1; padding-top: 10px; box-sizing: border-box;
}
.cq-hint p { margin: 0; font-size: 0.82rem; color: var(--body-text-color-subdued); }
.cq-placeholder { color: var(--body-text-color-subdued); text-align: center; }
.cq-question { white-space: normal; }
.cq-answer { line-height: 1.6; }
.cq-answer.cq-pending { color: var(--body-text-color-subdued); }
.cq-answer.cq-abstained { font-style: italic; }
.cq-answer.cq-error { color: var(--error-text-color); }
.cq-cursor {
  display: inline-block; width: 7px; height: 1em; margin-left: 3px; vertical-align: text-bottom;
  background: var(--primary-400); animation: cq-blink 1s steps(2, start) infinite;
}
@keyframes cq-blink { to { visibility: hidden; } }
.cq-ref {
  display: inline-block; font-size: 0.72em; font-weight: 600; vertical-align: super;
  line-height: 1; padding: 2px 4px; margin-left: 1px; border-radius: 5px;
  color: var(--primary-700); background: var(--primary-100);
}
.dark .cq-ref { color: var(--primary-100); background: var(--primary-800); }
.cq-sources { margin-top: 12px; display: flex; flex-direction: column; gap: 8px; }
.cq-sources-title, .cq-sources > summary {
  font-size: 0.75rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.06em;
  color: var(--body-text-color-subdued); cursor: default;
}
.cq-sources > summary { cursor: pointer; margin-bottom: 6px; }
.cq-card {
  border: 1px solid var(--border-color-primary); border-left: 3px solid var(--primary-500);
  border-radius: 10px; padding: 9px 12px; background: var(--background-fill-primary);
}
.cq-card.cq-near { border-left-color: var(--neutral-400); margin-top: 6px; }
.cq-card-head { display: flex; gap: 8px; align-items: center; font-weight: 600; }
.cq-num {
  flex: none; width: 22px; height: 22px; border-radius: 50%; display: grid; place-items: center;
  font-size: 0.75rem; color: white; background: var(--primary-500);
}
.cq-title { overflow-wrap: anywhere; }
.cq-meta { font-size: 0.8rem; color: var(--body-text-color-subdued); margin: 2px 0 6px; }
.cq-meta a { color: inherit; }
.cq-passage {
  font-size: 0.9rem; line-height: 1.55; color: var(--body-text-color-subdued);
  overflow-wrap: anywhere;
}
.cq-passage mark {
  color: var(--body-text-color); background: #fde68a; padding: 1px 2px; border-radius: 3px;
}
.dark .cq-passage mark { background: rgba(250, 204, 21, 0.35); }
#cq-ask-row { align-items: stretch; }
#cq-send { min-width: 90px; }
#cq-remove-row { align-items: flex-end; }
#cq-remove-row button { max-height: 42px; }
#cq-doc-list table.cq-docs {
  width: 100%; border-collapse: collapse; font-size: 0.86rem; border: none; padding: 0;
}
#cq-doc-list .cq-docs tr { border: none; }
#cq-doc-list .cq-docs th, #cq-doc-list .cq-docs td {
  border: none; border-bottom: 1px solid var(--border-color-primary); padding: 6px;
  text-align: left; vertical-align: top; background: none;
}
#cq-doc-list .cq-docs th { font-weight: 600; color: var(--body-text-color-subdued); }
.cq-nowrap { white-space: nowrap; }
.cq-doc-title { overflow-wrap: anywhere; }
.cq-doc-id {
  font-family: var(--font-mono); font-size: 0.72rem; color: var(--body-text-color-subdued);
}
.cq-empty { color: var(--body-text-color-subdued); font-size: 0.9rem; }
.cq-results { list-style: none; padding: 0; margin: 0; font-size: 0.88rem; }
.cq-result { padding: 4px 0; overflow-wrap: anywhere; }
.cq-badge {
  display: inline-block; font-size: 0.72rem; font-weight: 600; padding: 1px 7px;
  border-radius: 999px; background: var(--neutral-200); color: var(--neutral-800);
}
.cq-added .cq-badge, .cq-updated .cq-badge { background: #bbf7d0; color: #14532d; }
.cq-failed .cq-badge { background: #fecaca; color: #7f1d1d; }
.cq-reason { color: var(--body-text-color-subdued); font-size: 0.8rem; margin-left: 4px; }
"""

# The top bar, the tabs, the conversation list and its actions, the feedback form and the
# insights tab: the chat page only (a share link's page takes ``CSS`` alone).
HISTORY_CSS = """
#cq-top { align-items: center; }
#cq-user { text-align: right; font-size: 0.9rem; color: var(--body-text-color-subdued); }
#cq-user a { color: var(--primary-600); }
/* One visible tab (no Insights for this user): no tab bar at all. */
#cq-tabs > .tab-wrapper:has([role=tablist] > button:only-of-type) { display: none; }
#cq-sidebar { gap: 8px; }
#cq-new { font-weight: 600; }
.cq-side-title {
  font-size: 0.75rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.06em;
  color: var(--body-text-color-subdued); margin: 6px 2px 0;
}
.cq-side-empty { font-size: 0.82rem; color: var(--body-text-color-subdued); margin: 0 2px; }
#cq-sidebar:has(#cq-conversations label) #cq-no-conversations { display: none; }
#cq-conversations { padding: 0 !important; background: none; border: none; }
#cq-conversations .wrap { flex-direction: column; gap: 2px; }
#cq-conversations label {
  width: 100%; box-sizing: border-box; margin: 0; padding: 7px 10px; border-radius: 8px;
  border: none; box-shadow: none; background: none; font-size: 0.88rem; line-height: 1.35;
  color: var(--body-text-color); cursor: pointer;
}
#cq-conversations label:hover { background: var(--background-fill-secondary); }
#cq-conversations label.selected, #cq-conversations label:has(input:checked) {
  background: var(--primary-100); color: var(--primary-800); font-weight: 600;
  border: none !important; outline: none;
}
.dark #cq-conversations label:has(input:checked) {
  background: var(--primary-800); color: var(--primary-100);
}
#cq-conversations input[type=radio] { display: none; }
/* Gradio gives a group's elem_id to two nested divs: style the outer one only. */
div:not(#cq-actions) > #cq-actions { padding: 8px; border-radius: 10px; }
#cq-actions button { min-width: 0; }
.cq-export { font-size: 0.82rem; padding: 2px 4px; color: var(--body-text-color-subdued); }
.cq-export a { color: var(--primary-600); }
div:not(#cq-feedback) > #cq-feedback {
  border: 1px solid var(--primary-200); border-radius: 10px;
}
#cq-feedback .wrap { gap: 6px; }
.cq-hint a { color: var(--primary-600); }
.cq-insights-head { margin: 4px 0 8px; }
.cq-bars { display: flex; align-items: flex-end; gap: 4px; height: 70px; margin: 6px 0 12px; }
.cq-bar { display: flex; flex-direction: column; justify-content: flex-end; align-items: center;
  height: 100%; min-width: 30px; }
.cq-bar span { width: 18px; border-radius: 4px 4px 0 0; background: var(--primary-400); }
.cq-bar small { font-size: 0.68rem; color: var(--body-text-color-subdued); }
.cq-group {
  border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 12px;
  margin: 8px 0; background: var(--background-fill-primary);
}
.cq-group > summary { cursor: pointer; display: flex; gap: 10px; align-items: baseline; }
.cq-group-label { font-weight: 600; overflow-wrap: anywhere; }
.cq-count {
  flex: none; min-width: 26px; text-align: center; border-radius: 999px; font-weight: 700;
  font-size: 0.8rem; padding: 1px 6px; color: white; background: var(--primary-500);
}
.cq-insight-items { list-style: none; padding: 0; margin: 4px 0 0; }
.cq-insight-items li { padding: 6px 0; border-top: 1px solid var(--border-color-primary); }
.cq-insight-q { font-weight: 500; }
.cq-badge.cq-refused { background: #fef3c7; color: #78350f; margin-right: 4px; }
.cq-badge.cq-down { background: #fecaca; color: #7f1d1d; margin-right: 4px; }
.cq-correction { font-size: 0.85rem; margin-top: 2px; color: var(--body-text-color); }
"""
