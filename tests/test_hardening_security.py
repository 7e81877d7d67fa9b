"""Security: nothing let in. No remote code, no pickles, safetensors only, no server file read
for a user, uploads kept in Gradio's temp dir, model ids only from the registry, loopback by
default and no share link unless asked. One test per promise."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest
from gradio_client import Client

from playground import cli
from playground.host import Host
from playground.models import ModelRegistry
from tests.load.client import call, upload

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("playground", "plugins", "spaces")
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz"}
# Loaders of weights (not tokenizers, configs or schedulers) that must be told safetensors.
WEIGHT_LOADERS = ("AutoModel", "UNet", "Pipeline", "PeftModel", "SentenceTransformer")


def _sources() -> list[Path]:
    """Every shipped Python file: the host, the plugins and the Space template, not tests."""
    files = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py")]
    return [p for p in files if "tests" not in p.relative_to(ROOT).parts]


def _calls(path: Path) -> list[tuple[ast.Call, str]]:
    """Each call in the file with the dotted name it calls (``torch.load``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            found.append((node, ast.unparse(node.func)))
    return found


def _keyword(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name:
            return ast.literal_eval(kw.value) if isinstance(kw.value, ast.Constant) else "?"
    return None


def test_the_source_tree_is_scanned():
    assert len(_sources()) > 50 and any(p.name == "language.py" for p in _sources())


def test_no_remote_code_is_ever_trusted():
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                offenders.append(str(path.relative_to(ROOT)))
            if isinstance(node, ast.Name | ast.Attribute) and "trust_remote_code" in ast.unparse(
                node
            ):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_nothing_unpickles():
    offenders = []
    for path in _sources():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if {n.split(".")[0] for n in names} & {"pickle", "dill", "joblib", "cloudpickle"}:
                    offenders.append(f"{path.relative_to(ROOT)}: imports a pickle library")
        for node, name in _calls(path):
            where = f"{path.relative_to(ROOT)}:{node.lineno} {name}"
            if name.endswith("torch.load") and _keyword(node, "weights_only") is not True:
                offenders.append(f"{where} without weights_only=True")
            if name.endswith(("np.load", "numpy.load")) and _keyword(node, "allow_pickle"):
                offenders.append(f"{where} with allow_pickle")
    assert not offenders, "\n".join(offenders)


def test_weights_load_from_safetensors_only():
    offenders = []
    for path in _sources():
        for node, name in _calls(path):
            loader = name.rsplit(".", 1)[0]
            weights = name.endswith(".from_pretrained") and any(w in loader for w in WEIGHT_LOADERS)
            if weights and _keyword(node, "use_safetensors") is not True:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not offenders, "from_pretrained without use_safetensors=True:\n" + "\n".join(offenders)


def test_bundled_model_files_are_safetensors():
    shipped = [p for p in (ROOT / "plugins").rglob("*") if p.is_file()]
    pickles = [str(p.relative_to(ROOT)) for p in shipped if p.suffix in PICKLE_SUFFIXES]
    weights = [p for p in shipped if p.suffix == ".safetensors"]
    assert not pickles, pickles
    assert len(weights) >= 4  # tiny-llama, tiny-mixtral, digits-unet, two-moons


# -- live: files, uploads, model ids -------------------------------------------------------


@pytest.fixture(scope="module")
def endpoints(server) -> dict:
    api = Client(server, verbose=False).view_api(return_format="dict", print_info=False)
    return api["named_endpoints"]


def _defaults(endpoint: dict) -> list:
    return [p.get("parameter_default") for p in endpoint["parameters"]]


FILE_COMPONENTS = ("File", "Image", "UploadButton", "Audio", "Video")


@pytest.mark.slow
def test_no_endpoint_reads_a_path_the_user_names(server, endpoints):
    """A server file named in a file input, as a path or as FileData, is refused unread."""
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    here = Path(__file__).resolve()
    attempts = [
        "/etc/passwd",
        {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
        {"path": str(here), "orig_name": "x.png", "meta": {"_type": "gradio.FileData"}},
        {"path": "../../../../../etc/passwd", "meta": {"_type": "gradio.FileData"}},
    ]
    tried = 0
    for name, endpoint in endpoints.items():
        for i, param in enumerate(endpoint["parameters"]):
            if param["component"] not in FILE_COMPONENTS:
                continue
            for attempt in attempts:
                args = _defaults(endpoint)
                args[i] = [attempt] if "list" in param["python_type"]["type"] else attempt
                answer = call(server, name, args, deadline_s=60)
                tried += 1
                assert answer.event in ("error", "http"), (name, attempt, answer.event)
                assert answer.message or answer.event == "http", (name, attempt, answer.data)
                assert secret not in repr(answer.data) and "ROOT = Path" not in repr(answer.data)
    assert tried >= 4  # the diffusion tab's upload at least


def test_uploads_stay_in_gradios_temp_dir(server, tmp_path):
    from gradio.utils import get_upload_folder

    (tmp_path / "a.png").write_bytes(b"not really a png")
    stored = Path(upload(server, tmp_path / "a.png")["path"]).resolve()
    assert stored.is_relative_to(Path(get_upload_folder()).resolve()), stored
    assert not (ROOT / "a.png").exists()


def _registry_ids() -> set[str]:
    from playground.host import load

    return {s.id for s in load(registry=ModelRegistry()).registry.specs()}


@pytest.mark.slow
def test_model_ids_come_only_from_the_registry(server, endpoints):
    """Every model picker refuses an id that is not registered: a hub repo, a path, a URL."""
    ids = _registry_ids()
    hostile = ["openai-community/gpt2", "../../etc", "https://example.com/model", "evil/remote"]
    pickers = 0
    for name, endpoint in endpoints.items():
        for i, param in enumerate(endpoint["parameters"]):
            type_text = param["python_type"]["type"]
            if param["component"] != "Dropdown" or not any(f"'{m}'" in type_text for m in ids):
                continue
            pickers += 1
            for bad in hostile:
                args = _defaults(endpoint)
                args[i] = bad
                answer = call(server, name, args, deadline_s=60)
                assert answer.event == "error" and answer.message, (name, bad, answer.data)
    assert pickers >= 3  # gpt, attention, diffusion at least


# -- binding and sharing -------------------------------------------------------------------


def test_serve_binds_to_loopback_and_shares_nothing_by_default(monkeypatch):
    import playground.app

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    seen = {}
    monkeypatch.setattr(cli, "load", lambda plugins: Host(ModelRegistry()))
    monkeypatch.setattr(playground.app, "create_app", lambda host: "app")
    monkeypatch.setattr(
        playground.app, "serve", lambda app, host, name, port, **kw: seen.update(name=name, **kw)
    )
    assert cli.main(["serve"]) == 0
    assert seen == {"name": "127.0.0.1", "share": False}
    assert cli.main(["serve", "--share", "--host", "0.0.0.0"]) == 0  # only when asked
    assert seen == {"name": "0.0.0.0", "share": True}


def test_the_space_template_binds_to_loopback_unless_told():
    text = (ROOT / "spaces" / "template" / "app.py").read_text()
    assert 'os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")' in text
    assert "share=True" not in text


def _own_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({i[4][0] for i in infos if not i[4][0].startswith("127.")})


def test_the_running_server_answers_on_loopback_only(server):
    port = int(server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    addresses = _own_addresses()
    if not addresses:
        pytest.skip("this machine has no address but loopback")
    for address in addresses:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=5):
            pass


def test_an_upload_past_the_app_limit_is_refused_at_the_door(server, tmp_path):
    import httpx

    from playground.app import MAX_FILE_SIZE

    limit = int(MAX_FILE_SIZE.removesuffix("mb")) * 2**20
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.truncate(limit + 2**20)  # sparse: costs no disk here
    with big.open("rb") as f:
        response = httpx.post(
            f"{server}/gradio_api/upload", files=[("files", (big.name, f))], timeout=120
        )
    assert response.status_code == 413, (response.status_code, response.text[:200])
    assert "64" in response.text or "size" in response.text.lower()
