"""Generated text made fit for a page: what a tokenizer decodes can hold control characters."""

from __future__ import annotations

import re

# Byte-fallback tokens decode to single bytes, the C0 controls and DEL among them; a browser
# draws those as an empty box or not at all (Unicode's Control Pictures, ␛, are missing from
# many fonts). Newline and tab are layout and stay; a carriage return ends a line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def readable(text: str) -> str:
    """``text`` with carriage returns as newlines and every other control character but tab
    written as its escape (``\\x1b``)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
