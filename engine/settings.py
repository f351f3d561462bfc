"""The one Settings object: built from defaults, an optional peerdraft.toml and PEERDRAFT_* env vars."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from engine.errors import ConfigError

BACKENDS = ("auto", "llama-cpp", "transformers", "openai-compatible")
QUANTIZATIONS = ("auto", "nf4", "int8", "int4", "none")
DTYPES = ("auto", "float32", "bfloat16", "float16")
MODES = ("local", "team")
# Named embedded drafting models (engine/bundled_models.py): `default` writes, `small` is fast and for tests.
LLM_PROFILES = ("default", "small")
VERIFY_JUDGES = ("auto", "signals", "llm")


@dataclass(frozen=True)
class Settings:
    """Effective configuration; `sources` says where each value came from."""

    data_dir: Path = Path("data")
    mode: str = "local"
    llm_backend: str = "auto"
    llm_profile: str = "default"  # embedded model when llm_model is "": default = Qwen2.5-Coder-1.5B, small = SmolLM2-135M
    llm_model: str = ""  # HF id, local folder or .gguf file; overrides llm_profile
    quantization: str = "auto"
    dtype: str = "auto"
    llm_threads: int = 0  # 0 = all cores
    compile: bool = False  # transformers: static KV cache + torch.compile (slow warm-up, see engine/llm/hf.py)
    lean_decode: bool = True  # transformers on CPU: PeerDraft's decoding loop for Llama models (engine/llm/decode.py)
    endpoint_url: str = ""
    endpoint_key: str = ""
    endpoint_model: str = ""
    embedding_model: str = ""  # "" = the embedded all-MiniLM-L6-v2
    max_new_tokens: int = 256
    temperature: float = 0.3  # drafting from sources: 0.7 garbled them more (bench/results.md, article)
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    # The longest verbatim run of its sources, in words, a drafting model may write (0 = no limit; llama.cpp and
    # transformers backends): the default model copied 36% of its sentences without one (bench/results.md). Ten
    # keeps a term's defining phrase and stops copying whole sentences (bench/article.py counts a sentence as
    # copied when 60% of it is one run of 12 words or more).
    copy_limit_words: int = 10
    context_tokens: int = 4096
    strict: bool = True
    # Who judges a sentence against its sources beyond the cheap signals: auto = the cross-encoder when it was
    # built (engine/verify/judge.py) for evaluations, signals alone while drafting; llm = the drafting model
    # as a yes/no judge where the signals are unsure (seconds per judged sentence; llama.cpp GGUF models).
    verify_judge: str = "auto"
    max_upload_mb: int = 50
    metrics_port: int = 9464
    metrics_host: str = "127.0.0.1"  # the address /metrics listens on; 0.0.0.0 only inside a container
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_choice("llm_backend", self.llm_backend, BACKENDS)
        _check_choice("quantization", self.quantization, QUANTIZATIONS)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_choice("mode", self.mode, MODES)
        _check_choice("llm_profile", self.llm_profile, LLM_PROFILES)
        _check_choice("verify_judge", self.verify_judge, VERIFY_JUDGES)
        if self.max_new_tokens <= 0:
            raise ConfigError(f"max_new_tokens must be greater than 0, but is {self.max_new_tokens}.",
                              "Set PEERDRAFT_MAX_NEW_TOKENS to a positive number.")
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"temperature must be between 0 and 2, but is {self.temperature}.",
                              "Set PEERDRAFT_TEMPERATURE (0 = greedy).")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"top_p must be in (0, 1], but is {self.top_p}.", "Set PEERDRAFT_TOP_P.")
        if self.repetition_penalty <= 0:
            raise ConfigError(f"repetition_penalty must be positive, but is {self.repetition_penalty}.",
                              "Set PEERDRAFT_REPETITION_PENALTY (1.0 = off).")
        if self.copy_limit_words < 0:
            raise ConfigError(f"copy_limit_words must be 0 or more, but is {self.copy_limit_words}.",
                              "Set PEERDRAFT_COPY_LIMIT_WORDS (0 = no limit).")
        if self.llm_backend == "openai-compatible" and not self.endpoint_url:
            raise ConfigError("The openai-compatible backend needs an endpoint URL.",
                              "Set PEERDRAFT_ENDPOINT_URL, e.g. http://localhost:8000/v1.")

    @property
    def source_of(self) -> Mapping[str, str]:
        return self.sources

    def with_values(self, **changes: Any) -> "Settings":
        """A copy with some values replaced (sources marked 'override')."""
        sources = dict(self.sources)
        sources.update({k: "override" for k in changes})
        return replace(self, sources=sources, **changes)

    def effective(self) -> list[tuple[str, str, str]]:
        """(name, value, source) rows for display; secrets masked."""
        rows = []
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            shown = "••••" if f.name == "endpoint_key" and value else str(value)
            rows.append((f.name, shown, self.sources.get(f.name, "default")))
        return rows

    # Paths under the data directory, in one place.
    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "peerdraft.db"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, but is {value!r}.",
                          f"Set PEERDRAFT_{name.upper()} to one of those.")


def _convert(name: str, raw: Any, kind: Any) -> Any:
    try:
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        if kind in (Path, "Path"):
            return Path(str(raw)).expanduser()
        return str(raw)
    except ValueError:
        raise ConfigError(f"Setting {name} has an invalid value {raw!r}.",
                          f"Set PEERDRAFT_{name.upper()} to a valid {getattr(kind, '__name__', kind)}.") from None


def load_settings(env: Mapping[str, str] | None = None, toml_path: Path | None = None) -> Settings:
    """Settings from defaults < peerdraft.toml < PEERDRAFT_* environment variables."""
    env = os.environ if env is None else env
    if toml_path is None:
        toml_path = Path(env.get("PEERDRAFT_CONFIG", "peerdraft.toml"))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    types = {f.name: f.type for f in fields(Settings) if f.name != "sources"}
    if toml_path.is_file():
        try:
            table = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{toml_path} is not valid TOML: {exc}.", "Fix or remove the file.") from None
        table = table.get("peerdraft", table)
        for key, raw in table.items():
            if key not in types:
                raise ConfigError(f"{toml_path} has an unknown setting {key!r}.",
                                  f"Known settings: {', '.join(types)}.")
            values[key] = _convert(key, raw, types[key])
            sources[key] = str(toml_path)
    for name, kind in types.items():
        var = f"PEERDRAFT_{name.upper()}"
        if var in env and env[var] != "":
            values[name] = _convert(name, env[var], kind)
            sources[name] = f"env {var}"
    return Settings(**values, sources=sources)
