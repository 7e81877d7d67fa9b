import unicodedata

from plugins.models.language import load_tokenizer
from plugins.models.text import readable


def test_control_characters_become_escapes_and_layout_stays():
    assert readable("a\rb\x1bc\x00\x7f") == "a\nb\\x1bc\\x00\\x7f"
    assert readable("one\r\ntwo\n\tindented ü") == "one\ntwo\n\tindented ü"


def test_no_token_of_the_bundled_vocabulary_reads_as_an_invisible_control():
    tokenizer = load_tokenizer()
    for token in range(tokenizer.vocab_size):
        shown = readable(tokenizer.decode([token]))
        assert all(unicodedata.category(ch) != "Cc" or ch in "\n\t" for ch in shown), token
