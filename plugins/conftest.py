"""The built-in plugins' tests run offline, like the app's own (tests/conftest.py)."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may download in a test
