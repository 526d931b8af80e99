"""The window's look: one stylesheet in a light and a dark set of colours, sized from the
system font so that the desktop's font scaling reaches every bubble and button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget


def set_style_property(widget: QWidget, name: str, value: object) -> None:
    """Set a property the stylesheet selects on, and re-apply the style so it shows now."""
    widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


LIGHT = {
    "window": "#f4f5f7",
    "surface": "#ffffff",
    "border": "#dde1e7",
    "field_border": "#c9ced6",
    "text": "#1d2330",
    "muted": "#5c6370",
    "faint": "#6b7280",
    "accent": "#2f6fde",
    "accent_text": "#ffffff",
    "accent_dim": "#9db7e8",
    "disabled": "#aab4c3",
    "listening": "#d64541",
    "hf_listening": "#1a7f37",  # hands-free's states: white text reads on each, light or dark
    "hf_thinking": "#9a6700",
    "hf_muted": "#6b7280",
    "error_bg": "#fdecea",
    "error_border": "#f5c2bd",
    "error_text": "#8a1f11",
    "ok": "#1a7f37",
    "warn": "#9a6700",
    "bad": "#cf222e",
    "meter_bg": "#e1e4e9",
    "meter": "#3fb950",
    "row_line": "#eef0f3",
    "selected": "#dbe6fb",
    "chip": "#e8eefc",
    "link": "#1d4ed8",
}
DARK = {
    "window": "#1b1d23",
    "surface": "#262a33",
    "border": "#3a3f4b",
    "field_border": "#4a5060",
    "text": "#e6e8ee",
    "muted": "#a9b0bd",
    "faint": "#9aa1ad",
    "accent": "#3b78e7",
    "accent_text": "#ffffff",
    "accent_dim": "#36507d",
    "disabled": "#4a5060",
    "listening": "#d64541",
    "hf_listening": "#1a7f37",  # hands-free's states: white text reads on each, light or dark
    "hf_thinking": "#9a6700",
    "hf_muted": "#6b7280",
    "error_bg": "#3d1f1c",
    "error_border": "#6e2f29",
    "error_text": "#ffb4a9",
    "ok": "#56d364",
    "warn": "#e3b341",
    "bad": "#ff7b72",
    "meter_bg": "#333844",
    "meter": "#3fb950",
    "row_line": "#30343e",
    "selected": "#2e4a7a",
    "chip": "#2c3a57",
    "link": "#79a6ff",
}

_TEMPLATE = """
#mainWindow { background: {window}; }
#chatView, #chatInner { background: {window}; border: none; }
QFrame[role="user"] { background: {accent}; border-radius: 14px; }
QFrame[role="user"] QLabel { color: {accent_text}; font-size: {body}pt; }
QFrame[role="user"][dimmed="true"] { background: {accent_dim}; }
QFrame[role="assistant"] { background: {surface}; border: 1px solid {border};
    border-radius: 14px; }
QFrame[role="assistant"] QLabel { color: {text}; font-size: {body}pt; }
QFrame[role="notice"] QLabel { color: {muted}; font-style: italic; }
QFrame[role="error"] { background: {error_bg}; border: 1px solid {error_border};
    border-radius: 8px; }
QFrame[role="error"] QLabel { color: {error_text}; }
#composer { padding: 8px; border: 1px solid {field_border}; border-radius: 8px;
    background: {surface}; color: {text}; font-size: {body}pt; }
#talkButton { font-size: {big}pt; font-weight: bold; color: {accent_text};
    background: {accent}; border: none; border-radius: 12px; }
#talkButton:disabled { background: {disabled}; }
#talkButton[listening="true"] { background: {listening}; }
#stopButton, #handsFreeButton { min-width: 72px; min-height: 64px; border-radius: 12px; }
#handsFreeButton, #muteButton { border: 1px solid {field_border}; color: {text}; }
#muteButton { min-width: 72px; padding: 6px; border-radius: 10px; }
#handsFreeButton:checked { background: {hf_listening}; color: #ffffff; font-weight: bold; }
#muteButton:checked { background: {hf_muted}; color: #ffffff; font-weight: bold; }
#handsFreeState { color: #ffffff; font-weight: bold; font-size: {body}pt; padding: 6px 12px;
    border-radius: 10px; background: {hf_muted}; }
#handsFreeState[mode="listening"] { background: {hf_listening}; }
#handsFreeState[mode="hearing"] { background: {listening}; }
#handsFreeState[mode="thinking"] { background: {hf_thinking}; }
#handsFreeState[mode="speaking"] { background: {accent}; }
#levelMeter { border: none; background: {meter_bg}; border-radius: 4px; }
#levelMeter::chunk { background: {meter}; border-radius: 4px; }
QLabel[state="ready"] { color: {ok}; }
QLabel[state="loading"] { color: {warn}; }
QLabel[state="error"], QLabel[error="true"] { color: {bad}; }
#timings { color: {muted}; }
#chatSearch { padding: 6px; border: 1px solid {field_border}; border-radius: 8px;
    background: {surface}; color: {text}; }
#chatList { background: {surface}; border: 1px solid {border}; border-radius: 8px; }
#chatList::item { padding: 6px 8px; border-bottom: 1px solid {row_line}; color: {text}; }
#chatList::item:selected { background: {selected}; color: {text}; }
#sidebarEmpty { color: {muted}; }
#bubbleNote { color: {faint}; font-size: {small}pt; }
#reasoningToggle { color: {faint}; font-size: {small}pt; border: none; text-align: left;
    padding: 0px; background: transparent; }
#reasoning { color: {muted}; font-size: {small}pt; font-style: italic; }
#toolChips { color: {link}; font-size: {small}pt; font-family: monospace; }
#fileChip { background: {chip}; border-radius: 10px; }
#feedback_up, #feedback_down, #feedback_correct { color: {faint}; font-size: {small}pt;
    padding: 0px 6px; border: none; background: transparent; }
#feedback_up:hover, #feedback_down:hover, #feedback_correct:hover { color: {text}; }
#feedback_up:checked { color: {ok}; font-weight: bold; }
#feedback_down:checked { color: {bad}; font-weight: bold; }
#welcomeHeading { font-size: {big}pt; font-weight: bold; }
"""


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the desktop asks for dark: its colour scheme where Qt knows it, else whether
    the palette's window colour is dark (themes that only set a palette)."""
    if palette is None and QGuiApplication.instance() is not None:
        scheme = QGuiApplication.styleHints().colorScheme()
        if scheme != Qt.ColorScheme.Unknown:
            return scheme == Qt.ColorScheme.Dark
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def colours(dark: bool) -> dict[str, str]:
    return DARK if dark else LIGHT


def stylesheet(dark: bool, font: QFont | None = None) -> str:
    """The stylesheet, in sizes relative to the system font's point size (10 pt if unknown)."""
    base = (font or QGuiApplication.font()).pointSizeF()
    base = base if base > 0 else 10.0
    sizes = {"body": f"{base * 1.1:.1f}", "big": f"{base * 1.25:.1f}", "small": f"{base * 0.9:.1f}"}
    text = _TEMPLATE
    for key, value in {**colours(dark), **sizes}.items():
        text = text.replace("{" + key + "}", value)
    return text


def dark_palette() -> QPalette:
    """A dark palette for the standard widgets (dialogs, lists, buttons) where the platform
    says dark but gives no dark palette of its own."""
    c = DARK
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: c["window"],
        QPalette.ColorRole.WindowText: c["text"],
        QPalette.ColorRole.Base: c["surface"],
        QPalette.ColorRole.AlternateBase: c["window"],
        QPalette.ColorRole.Text: c["text"],
        QPalette.ColorRole.Button: c["surface"],
        QPalette.ColorRole.ButtonText: c["text"],
        QPalette.ColorRole.Highlight: c["accent"],
        QPalette.ColorRole.HighlightedText: c["accent_text"],
        QPalette.ColorRole.ToolTipBase: c["surface"],
        QPalette.ColorRole.ToolTipText: c["text"],
        QPalette.ColorRole.PlaceholderText: c["muted"],
        QPalette.ColorRole.Link: c["link"],
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):  # fmt: skip
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(c["disabled"]))
    return palette
