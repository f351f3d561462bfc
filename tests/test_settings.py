"""Settings: defaults, TOML, environment precedence, validation with messages that name the fix."""

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.settings import Settings, load_settings


def test_defaults_apply_when_nothing_is_configured(tmp_path):
    s = load_settings(env={}, toml_path=tmp_path / "absent.toml")
    assert s.data_dir == Path("data")
    assert s.llm_backend == "auto" and s.quantization == "auto"
    assert s.sources == {}


def test_environment_overrides_toml_and_sources_say_where_values_came_from(tmp_path):
    toml = tmp_path / "peerdraft.toml"
    toml.write_text('[peerdraft]\nmax_new_tokens = 64\ntemperature = 0.2\nllm_model = "x.gguf"\n')
    s = load_settings(env={"PEERDRAFT_MAX_NEW_TOKENS": "32", "PEERDRAFT_STRICT": "false"}, toml_path=toml)
    assert s.max_new_tokens == 32 and s.temperature == 0.2 and s.strict is False
    assert s.sources["max_new_tokens"] == "env PEERDRAFT_MAX_NEW_TOKENS"
    assert s.sources["temperature"] == str(toml)
    assert dict((n, src) for n, _, src in s.effective())["top_p"] == "default"


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().max_new_tokens = 5  # type: ignore[misc]


@pytest.mark.parametrize("env, fragment", [
    ({"PEERDRAFT_LLM_BACKEND": "magic"}, "PEERDRAFT_LLM_BACKEND"),
    ({"PEERDRAFT_QUANTIZATION": "fp3"}, "PEERDRAFT_QUANTIZATION"),
    ({"PEERDRAFT_MAX_NEW_TOKENS": "0"}, "PEERDRAFT_MAX_NEW_TOKENS"),
    ({"PEERDRAFT_MAX_NEW_TOKENS": "many"}, "PEERDRAFT_MAX_NEW_TOKENS"),
    ({"PEERDRAFT_LLM_BACKEND": "openai-compatible"}, "PEERDRAFT_ENDPOINT_URL"),
])
def test_bad_values_raise_a_message_naming_the_setting_to_change(tmp_path, env, fragment):
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, toml_path=tmp_path / "absent.toml")
    assert fragment in str(info.value)


def test_unknown_toml_key_is_rejected(tmp_path):
    toml = tmp_path / "peerdraft.toml"
    toml.write_text("max_tokens = 5\n")
    with pytest.raises(ConfigError, match="unknown setting 'max_tokens'"):
        load_settings(env={}, toml_path=toml)


def test_endpoint_key_is_masked_in_the_effective_view(tmp_path):
    s = load_settings(env={"PEERDRAFT_ENDPOINT_KEY": "sk-secret"}, toml_path=tmp_path / "absent.toml")
    assert "sk-secret" not in str(s.effective())
