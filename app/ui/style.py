"""The window's look: one stylesheet, readable in light and dark desktop themes."""

from PySide6.QtWidgets import QWidget


def set_style_property(widget: QWidget, name: str, value: object) -> None:
    """Set a property the stylesheet selects on, and re-apply the style so it shows now."""
    widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


STYLE = """
#mainWindow { background: #f4f5f7; }
#chatView, #chatInner { background: #f4f5f7; border: none; }
QFrame[role="user"] { background: #2f6fde; border-radius: 14px; }
QFrame[role="user"] QLabel { color: white; font-size: 14px; }
QFrame[role="user"][dimmed="true"] { background: #9db7e8; }
QFrame[role="assistant"] { background: white; border: 1px solid #dde1e7; border-radius: 14px; }
QFrame[role="assistant"] QLabel { color: #1d2330; font-size: 14px; }
QFrame[role="notice"] QLabel { color: #5c6370; font-style: italic; }
QFrame[role="error"] { background: #fdecea; border: 1px solid #f5c2bd; border-radius: 8px; }
QFrame[role="error"] QLabel { color: #8a1f11; }
#composer { padding: 8px; border: 1px solid #c9ced6; border-radius: 8px; background: white;
            font-size: 14px; }
#talkButton { font-size: 16px; font-weight: bold; color: white; background: #2f6fde;
              border: none; border-radius: 12px; }
#talkButton:disabled { background: #aab4c3; }
#talkButton[listening="true"] { background: #d64541; }
#stopButton { min-width: 72px; min-height: 64px; border-radius: 12px; }
#levelMeter { border: none; background: #e1e4e9; border-radius: 4px; }
#levelMeter::chunk { background: #3fb950; border-radius: 4px; }
QLabel[state="ready"] { color: #1a7f37; }
QLabel[state="loading"] { color: #9a6700; }
QLabel[state="error"] { color: #cf222e; }
#timings { color: #5c6370; }
#chatSearch { padding: 6px; border: 1px solid #c9ced6; border-radius: 8px; background: white; }
#chatList { background: white; border: 1px solid #dde1e7; border-radius: 8px; }
#chatList::item { padding: 6px 8px; border-bottom: 1px solid #eef0f3; color: #1d2330; }
#chatList::item:selected { background: #dbe6fb; color: #1d2330; }
#sidebarEmpty { color: #5c6370; }
#bubbleNote { color: #6b7280; font-size: 12px; }
#reasoningToggle { color: #8a909b; font-size: 12px; border: none; text-align: left;
    padding: 0px; background: transparent; }
#reasoning { color: #5c6370; font-size: 12px; font-style: italic; }
#toolChips { color: #1d4ed8; font-size: 12px; font-family: monospace; }
#fileChip { background: #e8eefc; border-radius: 10px; }
#feedback_up, #feedback_down, #feedback_correct { color: #8a909b; font-size: 12px;
    padding: 0px 6px; border: none; background: transparent; }
#feedback_up:hover, #feedback_down:hover, #feedback_correct:hover { color: #1d2330; }
#feedback_up:checked { color: #1a7f37; font-weight: bold; }
#feedback_down:checked { color: #cf222e; font-weight: bold; }
"""
