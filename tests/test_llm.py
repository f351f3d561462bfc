"""LLM backends with the real embedded SmolLM2-135M: greedy determinism, streaming, stop, errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from engine.cli import main as cli_main
from engine.bundled_models import embedded_llm
from engine.errors import ConfigError, ModelError
from engine.llm import GenerationParams, Message, generate, load_llm, resolve_backend
from engine.settings import load_settings

QUESTION = [Message("user", "Name one use of attention in neural networks.")]
GREEDY = GenerationParams(max_new_tokens=12, temperature=0.0, repetition_penalty=1.0)


def _settings(tmp_path, **env):
    env = {"PEERDRAFT_DATA_DIR": str(tmp_path / "data"), "PEERDRAFT_LLM_PROFILE": "small",
           **{f"PEERDRAFT_{k.upper()}": v for k, v in env.items()}}
    return load_settings(env=env, toml_path=tmp_path / "absent.toml")


def test_auto_backend_picks_llama_cpp_for_the_embedded_gguf_on_cpu(tmp_path):
    assert resolve_backend(_settings(tmp_path)) == "llama-cpp"
    assert resolve_backend(_settings(tmp_path, llm_model="/models/some-hf-folder")) == "transformers"
    assert resolve_backend(_settings(tmp_path, endpoint_url="http://127.0.0.1:9/v1")) == "openai-compatible"


def test_missing_model_path_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="PEERDRAFT_LLM_MODEL"):
        load_llm(_settings(tmp_path, llm_backend="llama-cpp", llm_model=str(tmp_path / "nope.gguf")))
    with pytest.raises(ConfigError, match="PEERDRAFT_LLM_MODEL"):
        load_llm(_settings(tmp_path, llm_backend="transformers", llm_model=str(tmp_path / "no-folder")))


def test_nf4_without_bitsandbytes_names_the_fix(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    with pytest.raises(ConfigError, match="PEERDRAFT_QUANTIZATION"):
        load_llm(_settings(tmp_path, llm_backend="transformers", quantization="nf4"))


def test_unreachable_endpoint_names_the_setting(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(ModelError, match="PEERDRAFT_ENDPOINT_URL"):
        load_llm(_settings(tmp_path, endpoint_url=f"http://127.0.0.1:{port}/v1"))


@pytest.mark.model
def test_llama_cpp_greedy_generation_is_deterministic_and_streams(llama_llm):
    chunks = list(llama_llm.stream_chat(QUESTION, GREEDY))
    again = generate(llama_llm, QUESTION, GREEDY)
    assert len(chunks) > 1
    assert "".join(chunks) == again.text and again.text.strip()
    assert 1 <= again.new_tokens <= GREEDY.max_new_tokens + 1
    assert again.first_token_seconds is not None and again.backend == "llama-cpp"


@pytest.mark.model
def test_stop_event_ends_generation_early(llama_llm):
    stop = threading.Event()
    pieces = []
    for piece in llama_llm.stream_chat(QUESTION, GenerationParams(max_new_tokens=200, temperature=0.0)):
        pieces.append(piece)
        if len(pieces) == 3:
            stop.set()
            break
    assert len(pieces) == 3
    result = generate(llama_llm, QUESTION, GenerationParams(max_new_tokens=200, temperature=0.0),
                      on_text=lambda _p: stop.set(), stop_event=stop)
    assert result.stopped and result.new_tokens < 10


@pytest.mark.model
def test_perplexity_is_finite_and_higher_for_shuffled_text(llama_llm):
    text = ("Self-attention lets every token in a sequence weigh every other token. The transformer "
            "stacks attention and feed-forward layers with residual connections.")
    words = text.split()
    shuffled = " ".join(words[i] for i in [7, 2, 15, 0, 11, 4, 19, 9, 1, 13, 6, 17, 3, 10, 5, 18, 8, 14, 12, 16, 20, 21, 22][: len(words)])
    original = llama_llm.perplexity(text)
    assert 1.0 < original < 1e4
    assert llama_llm.perplexity(shuffled) > original


@pytest.mark.model
def test_transformers_backend_streams_greedy_text_from_the_gguf(hf_llm):
    chunks = list(hf_llm.stream_chat(QUESTION, GREEDY))
    assert len(chunks) > 1
    text = "".join(chunks)
    assert text.strip() and text == generate(hf_llm, QUESTION, GREEDY).text
    assert hf_llm.perplexity("Attention weighs tokens.") > 1.0


@pytest.mark.model
def test_transformers_stop_event_ends_generation(hf_llm):
    stop = threading.Event()
    result = generate(hf_llm, QUESTION, GenerationParams(max_new_tokens=100, temperature=0.0),
                      on_text=lambda _p: stop.set(), stop_event=stop)
    assert result.stopped and result.new_tokens < 20


@pytest.mark.model
def test_nf4_quantized_model_loads_through_bitsandbytes_and_generates(tmp_path):
    pytest.importorskip("bitsandbytes")
    from engine.llm.hf import TransformersLLM

    llm = TransformersLLM(_settings(tmp_path, llm_backend="transformers", quantization="nf4"))
    assert llm.quantization == "nf4"
    assert any("4bit" in type(m).__name__ for m in llm.model.modules())
    assert (tmp_path / "data" / "cache" / "hf-models").is_dir()  # the dequantized copy bnb loads
    text = "".join(llm.stream_chat(QUESTION, GenerationParams(max_new_tokens=6, temperature=0.0)))
    assert text.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    """A real OpenAI-compatible server (llama-cpp-python's) on loopback serving the embedded GGUF."""
    pytest.importorskip("llama_cpp.server")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_llm().path),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                             "--model_alias", "smollm2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.model
def test_openai_compatible_backend_streams_from_a_real_server(tmp_path, llama_server):
    llm = load_llm(_settings(tmp_path, endpoint_url=llama_server))
    assert llm.backend == "openai-compatible" and llm.model_name == "smollm2"
    chunks = list(llm.stream_chat(QUESTION, GREEDY))
    assert len(chunks) > 1 and "".join(chunks).strip()


@pytest.mark.model
def test_cli_generate_json_reports_text_tokens_and_backend(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "absent.toml"))
    assert cli_main(["generate", "Say hello.", "--max-new-tokens", "8", "--temperature", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"text", "new_tokens", "seconds", "backend", "model"}
    assert out["backend"] == "llama-cpp" and 0 < out["new_tokens"] <= 9 and out["text"].strip()


def test_cli_doctor_reports_embedded_models(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "absent.toml"))
    code = cli_main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["problems"]
    assert "SmolLM2" in report["facts"]["llm model"] and "MiniLM" in report["facts"]["embedding model"]


def test_cli_doctor_exits_1_naming_a_missing_model(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("PEERDRAFT_LLM_BACKEND", "llama-cpp")
    monkeypatch.setattr("engine.diagnosis.llama_cpp_available", lambda: False)
    assert cli_main(["doctor"]) == 1
    assert "llama-cpp-python is not installed" in capsys.readouterr().out
