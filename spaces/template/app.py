"""ML Playground as a Hugging Face Space, written by `playground space export`.

The Space's builder installs requirements.txt before this folder is copied into the image, so
the project cannot come from pip there: it ships in site/, its own wheel unpacked (packages,
bundled models and the entry points that register the plugins). Nothing downloads at start-up.
"""

import os
import sys
from pathlib import Path

PLUGINS: list[str] | None = None  # the plugins this Space serves; the export writes the list

sys.path.insert(0, str(Path(__file__).resolve().parent / "site"))

from playground import zerogpu  # noqa: E402  (site/ must be on the path first)

zerogpu.prepare()  # on ZeroGPU, `spaces` has to patch torch before anything touches CUDA

from playground import app, host  # noqa: E402
from playground.quiet import quiet  # noqa: E402

quiet()  # the library notices `playground serve` silences, before any plugin imports them

loaded = host.load(PLUGINS)
demo = app.create_app(loaded)

if __name__ == "__main__":
    # A Space sets GRADIO_SERVER_NAME=0.0.0.0 and the port; run elsewhere, it stays on loopback.
    port = os.environ.get("GRADIO_SERVER_PORT") or os.environ.get("PORT") or "7860"
    server_name = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    app.serve(demo, loaded, server_name, int(port))
