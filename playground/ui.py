"""Layout pieces every tab shares (gradio-free values, so views and tests may read them too)."""

# Markdown and Chatbot math: $$…$$ for a display formula, $…$ inline
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]
