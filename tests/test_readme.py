"""README.md as a specification: every shell command in it is exercised, and its benchmark table is current.

Each command in a ```bash / ```sh / ```console block must appear in COVERED (a test or script that
runs it, checked to contain that run) or in NOT_RUNNABLE_HERE (with the reason and a static check).
Adding a command to the README without saying how it is exercised fails
test_every_readme_command_is_exercised_somewhere.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from engine.cli import build_parser, main
from engine.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
sys.path.insert(0, str(REPO))  # bench/ is a folder of scripts, not an installed package

from bench import readme_table  # noqa: E402

SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}


# ---- reading commands out of Markdown ------------------------------------------------------------
def strip_comment(line: str) -> str:
    """`line` without a trailing shell comment (a # at the start or after a blank, outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def readme_commands(markdown: str) -> list[str]:
    """Shell commands in the shell code blocks of `markdown`: continuations joined, comments dropped,
    blanks collapsed. In ```console blocks only lines after a `$ ` prompt count."""
    commands: list[str] = []
    language: str | None = None  # None: outside a code block
    pending = ""
    for raw in markdown.splitlines():
        fence = re.match(r"^\s*```\s*(\S*)", raw)
        if fence:
            language = fence.group(1).lower() if language is None else None
            pending = ""
            continue
        if language not in SHELL_LANGUAGES:
            continue
        line = raw
        if language == "console" and not pending:
            if not line.lstrip().startswith("$ "):
                continue
            line = line.lstrip()[2:]
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = " ".join(strip_comment(pending + line).split())
        pending = ""
        if command:
            commands.append(command)
    return commands


# ---- how each README command is exercised ------------------------------------------------------
@dataclass(frozen=True)
class Exercised:
    """A README command is run by `file`, which must contain `evidence` (the call that runs it)."""

    file: str
    evidence: str


HERE = "tests/test_readme.py"

COVERED: dict[str, Exercised] = {
    # The Docker team instance: run by `scripts/test.sh --container` (skipped where no Docker engine runs).
    "scripts/test.sh --container": Exercised("scripts/test.sh", "exec tests/container/run.sh"),
    "scripts/wheelhouse.sh": Exercised("tests/container/run.sh", "scripts/wheelhouse.sh wheelhouse"),
    "docker build --network host --build-arg WHEELHOUSE=wheelhouse -t peerdraft .":
        Exercised("tests/container/run.sh", "--network host --build-arg BASE=\"$BASE\" --build-arg WHEELHOUSE=wheelhouse"),
    "PEERDRAFT_ADMIN_PASSWORD='choose-one' docker compose up -d":
        Exercised("tests/container/team_container.py", 'self.compose("up", "-d", "--no-build")'),
    "docker compose exec peerdraft /app/.venv/bin/peerdraft user add alice --role writer":
        Exercised("tests/container/test_team_instance.py", 'instance.peerdraft("user", "add", WRITER, "--role", "writer"'),
    # Two commands
    "scripts/run.sh": Exercised(HERE, "def test_run_script_sets_up_then_runs_the_tested_peerdraft_run("),
    "scripts/test.sh": Exercised(".ci/run", "exec scripts/test.sh"),
    # Using a bigger model: the settings they name are real and pick the backend the README says
    "PEERDRAFT_LLM_MODEL=Qwen/Qwen2.5-1.5B-Instruct PEERDRAFT_ALLOW_HUB=1 scripts/run.sh":
        Exercised(HERE, "def test_model_examples_name_real_settings_and_select_the_described_backend("),
    "PEERDRAFT_LLM_MODEL=/models/my-finetune scripts/run.sh":
        Exercised(HERE, "def test_model_examples_name_real_settings_and_select_the_described_backend("),
    "PEERDRAFT_LLM_MODEL=/models/qwen2.5-3b-instruct-q4_k_m.gguf scripts/run.sh":
        Exercised(HERE, "def test_model_examples_name_real_settings_and_select_the_described_backend("),
    "PEERDRAFT_LLM_MODEL=Qwen/Qwen2.5-7B-Instruct PEERDRAFT_ALLOW_HUB=1 scripts/run.sh":
        Exercised(HERE, "def test_model_examples_name_real_settings_and_select_the_described_backend("),
    "PEERDRAFT_ENDPOINT_URL=http://gpu-box:8000/v1 PEERDRAFT_ENDPOINT_MODEL=Qwen/Qwen2.5-7B-Instruct scripts/run.sh":
        Exercised(HERE, "def test_model_examples_name_real_settings_and_select_the_described_backend("),
    # CLI reference (each synopsis is also checked against the real argument parser)
    "peerdraft --help": Exercised(HERE, "def test_console_script_help_lists_every_verb("),
    "peerdraft run [--port 8501] [--host 127.0.0.1] [--open]":
        Exercised("tests/test_run.py", 'cli("run", "--port", str(port))'),
    "peerdraft doctor [--json]": Exercised(HERE, "def test_doctor_json_reports_settings_and_embedded_models("),
    "peerdraft model install [--force]": Exercised("tests/test_cli_model.py", 'main(["model", "install"])'),
    "peerdraft model status [--json]": Exercised("tests/test_cli_model.py", 'main(["model", "status", "--json"])'),
    'peerdraft generate "PROMPT" [--max-new-tokens N] [--temperature T] [--json]':
        Exercised("tests/test_llm.py", 'cli_main(["generate", "Say hello.", "--max-new-tokens", "8"'),
    # index and search load the embedding model (tens of seconds): run once, in tests/test_cli_corpus.py
    "peerdraft index [PATH ...] [--rebuild]": Exercised("tests/test_cli_corpus.py", 'main(["index", str(papers)])'),
    'peerdraft search "QUERY" [--k 8] [--mode hybrid|dense|bm25] [--mmr] [--doc DOC_ID] [--json]':
        Exercised("tests/test_cli_corpus.py", 'main(["search", "reuse keys and values of earlier tokens", "--k", "2"'),
    'peerdraft draft --topic "…" [--audience "…"] [--key-point "…"] [--length WORDS] [--sections N] '
    "[--strict|--no-strict] [--out FILE.md] [--json]":
        Exercised("tests/test_cli_draft.py", 'main(["draft", "--topic", "LoRA low-rank adaptation", "--audience"'),
    "peerdraft check FILE.md [--json] [--assume TERM ...] [--audience \"…\"] "
    "[--sources DOC_ID ...] [--reference REF.md] [--no-model]":
        Exercised(HERE, "def test_check_export_and_backup_restore_on_a_draft("),
    "peerdraft report FILE.md --out report.md [--no-model]":
        Exercised("tests/test_cli_report.py", 'main(["report", str(folder / "draft.md"), "--out", str(out), "--no-model"'),
    "peerdraft export FILE.md --format md|html|bibtex|docx|pdf [--out PATH]":
        Exercised(HERE, "def test_check_export_and_backup_restore_on_a_draft("),
    "peerdraft bib FILE.bib [--user NAME] [--dry-run] [--json]":
        Exercised("tests/test_ingest_bib.py", 'main(["bib", str(bib), "--dry-run"])'),
    "peerdraft export --article ID [--user NAME] --format html":
        Exercised("tests/test_cli_export.py", 'main(["export", "--article", str(article.id), "--user", "rita"'),
    "peerdraft user add NAME --role admin|writer|reviewer [--password-stdin]":
        Exercised(HERE, "def test_user_add_with_password_on_stdin_then_list("),
    "peerdraft backup PATH": Exercised(HERE, "def test_check_export_and_backup_restore_on_a_draft("),
    "peerdraft restore PATH": Exercised(HERE, "def test_check_export_and_backup_restore_on_a_draft("),
}

# Commands this machine cannot run, each with the reason; test_not_runnable_commands_match_the_repo
# checks what can be checked without running them.
NOT_RUNNABLE_HERE: dict[str, str] = {
    ".venv/bin/pip install -e '.[gpu]'": "installs packages (bitsandbytes is already in the dev extra the tests use)",
    "docker build -t peerdraft .": "no container registry reachable here for python:3.11-slim-bookworm; "
        "tests/container/run.sh builds the same Dockerfile from a debootstrap base and the wheelhouse",
}

# The backend each model example selects on a machine without CUDA (what the README's comments say).
MODEL_EXAMPLE_BACKENDS = {
    "PEERDRAFT_LLM_MODEL=Qwen/Qwen2.5-1.5B-Instruct PEERDRAFT_ALLOW_HUB=1 scripts/run.sh": "transformers",
    "PEERDRAFT_LLM_MODEL=/models/my-finetune scripts/run.sh": "transformers",
    "PEERDRAFT_LLM_MODEL=/models/qwen2.5-3b-instruct-q4_k_m.gguf scripts/run.sh": "llama-cpp",
    "PEERDRAFT_LLM_MODEL=Qwen/Qwen2.5-7B-Instruct PEERDRAFT_ALLOW_HUB=1 scripts/run.sh": "transformers",
    "PEERDRAFT_ENDPOINT_URL=http://gpu-box:8000/v1 PEERDRAFT_ENDPOINT_MODEL=Qwen/Qwen2.5-7B-Instruct scripts/run.sh":
        "openai-compatible",
}
# Environment variables that are not Settings fields but are read by the code named here.
OTHER_ENV = {"PEERDRAFT_ALLOW_HUB": "engine/bundled_models.py", "PEERDRAFT_ADMIN_USER": "engine/auth.py",
             "PEERDRAFT_ADMIN_PASSWORD": "engine/auth.py", "PEERDRAFT_CONFIG": "engine/settings.py",
             "PEERDRAFT_TORCH_INDEX_URL": "scripts/setup.sh"}


SETTING_VARS = {f"PEERDRAFT_{f.name.upper()}" for f in fields(Settings) if f.name != "sources"}


def peerdraft_reads(name: str) -> bool:
    """Whether PeerDraft reads the environment variable `name` (a Settings field or one in OTHER_ENV)."""
    return name in SETTING_VARS or (name in OTHER_ENV and name in (REPO / OTHER_ENV[name]).read_text(encoding="utf-8"))


def uncovered(commands: list[str]) -> list[str]:
    """The commands that neither COVERED nor NOT_RUNNABLE_HERE accounts for."""
    return [c for c in commands if c not in COVERED and c not in NOT_RUNNABLE_HERE]


@pytest.fixture(scope="module")
def commands() -> list[str]:
    return readme_commands(README.read_text(encoding="utf-8"))


# ---- the extractor itself ----------------------------------------------------------------------
def test_extractor_joins_continuations_drops_comments_and_reads_only_shell_blocks():
    markdown = "\n".join([
        "Text `peerdraft inline` is not a command.",
        "```bash", "# a comment line", "peerdraft search 'a # b' --k 2   # trailing comment",
        "peerdraft draft --topic x \\", "    --json", "", "```",
        "```python", "print('not shell')", "```",
        "```console", "$ peerdraft doctor", "output line, not a command", "```",
    ])
    assert readme_commands(markdown) == ["peerdraft search 'a # b' --k 2", "peerdraft draft --topic x --json",
                                         "peerdraft doctor"]


def test_a_command_added_without_coverage_is_reported():
    assert uncovered(["peerdraft doctor [--json]", "peerdraft frobnicate --now"]) == ["peerdraft frobnicate --now"]


# ---- every command is accounted for ------------------------------------------------------------
def test_every_readme_command_is_exercised_somewhere(commands):
    assert commands, "no shell commands found in README.md"
    assert not uncovered(commands), (
        "README commands with no test or script exercising them (add them to COVERED or NOT_RUNNABLE_HERE "
        f"in {HERE}): {uncovered(commands)}")


def test_coverage_table_lists_only_commands_still_in_the_readme(commands):
    stale = sorted(set(COVERED) - set(commands)) + sorted(set(NOT_RUNNABLE_HERE) - set(commands))
    assert not stale, f"README no longer has these commands; remove them from {HERE}: {stale}"
    assert not set(COVERED) & set(NOT_RUNNABLE_HERE)


@pytest.mark.parametrize("command", sorted(COVERED))
def test_the_named_test_or_script_really_runs_the_command(command):
    where = COVERED[command]
    text = (REPO / where.file).read_text(encoding="utf-8")
    assert where.evidence in text, f"{where.file} no longer contains {where.evidence!r} (it exercised {command!r})"


def test_not_runnable_commands_match_the_repo():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(req.startswith("bitsandbytes") for req in extras["gpu"])
    compose = (REPO / "compose.yaml").read_text(encoding="utf-8")
    assert re.search(r"^  peerdraft:$", compose, re.M), "compose.yaml has no 'peerdraft' service"
    assert 'profiles: ["gpu"]' in compose and "PEERDRAFT_ADMIN_PASSWORD" in compose
    # The CLI inside the container is where the image installs it, and the verb parses.
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]', (REPO / "Dockerfile").read_text(encoding="utf-8"), re.M)
    exec_command = next(c for c in [*COVERED, *NOT_RUNNABLE_HERE] if c.startswith("docker compose exec peerdraft "))
    words = exec_command.split()[4:]  # after "docker compose exec SERVICE"
    assert entrypoint and words[0] == entrypoint.group(1)
    build_parser().parse_args(words[1:])


# ---- the commands, checked or run ------------------------------------------------------------
def test_run_script_sets_up_then_runs_the_tested_peerdraft_run():
    # scripts/run.sh = the set-up .ci/run exercises (through scripts/test.sh) + `peerdraft run`, which
    # tests/test_run.py starts for real; running the script itself here would reinstall the venv.
    lines = [line for line in (REPO / "scripts/run.sh").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[-2:] == ["scripts/setup.sh", 'exec .venv/bin/peerdraft run "$@"']
    assert "scripts/setup.sh --dev" in (REPO / "scripts/test.sh").read_text()
    build_parser().parse_args(["run", "--open", "--port", "8502"])  # the flags the README offers run.sh


def test_model_examples_name_real_settings_and_select_the_described_backend(commands, monkeypatch):
    import engine.llm as llm

    monkeypatch.setattr(llm, "cuda_available", lambda: False)
    monkeypatch.setattr(llm, "llama_cpp_available", lambda: True)
    examples = [c for c in commands if re.match(r"^PEERDRAFT_\w+=", c) and c.endswith("scripts/run.sh")]
    assert sorted(examples) == sorted(MODEL_EXAMPLE_BACKENDS)
    for command in examples:
        words = shlex.split(command)
        env = dict(word.split("=", 1) for word in words if "=" in word and word.startswith("PEERDRAFT_"))
        assert words[len(env):] == ["scripts/run.sh"], command
        assert all(peerdraft_reads(name) for name in env), f"{command!r} sets a variable PeerDraft does not read"
        settings = load_settings(env=env, toml_path=REPO / "no-such.toml")
        assert llm.resolve_backend(settings) == MODEL_EXAMPLE_BACKENDS[command], command


def test_every_env_variable_in_the_readme_is_read_by_peerdraft():
    named = set(re.findall(r"PEERDRAFT_[A-Z_]+[A-Z]", README.read_text(encoding="utf-8")))
    unknown = sorted(n for n in named if not peerdraft_reads(n))
    assert not unknown, f"README names variables PeerDraft does not read: {unknown}"
    assert SETTING_VARS <= named, f"settings missing from the README's table: {sorted(SETTING_VARS - named)}"


def test_configuration_table_lists_every_choice_of_each_setting():
    from engine import settings as config

    table = {row.split("|")[1].strip(): row for row in README.read_text(encoding="utf-8").splitlines()
             if row.startswith("| ")}
    for name, choices in (("mode", config.MODES), ("llm_backend", config.BACKENDS),
                          ("quantization", config.QUANTIZATIONS), ("dtype", config.DTYPES)):
        assert name in table, f"README's configuration table has no '{name}' row"
        missing = [c for c in choices if f"`{c}`" not in table[name]]
        assert not missing, f"README's '{name}' row does not list {missing}"


def parser_for(words: list[str]):
    """The argparse parser for `peerdraft VERB [ACTION]` and the words after it."""
    parser, rest = build_parser(), words[1:]
    while rest:
        sub = next((a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"), None)
        if sub is None or rest[0] not in sub.choices:
            break
        parser, rest = sub.choices[rest[0]], rest[1:]
    return parser, rest


def synopsis_problems(command: str) -> list[str]:
    """Flags and choices in a `peerdraft …` synopsis that the real parser does not have."""
    parser, rest = parser_for(shlex.split(command))
    options = {s: a for a in parser._actions for s in a.option_strings}
    problems, flag = [], None
    for word in rest:
        parts = [p for p in word.strip("[]").split("|") if p]
        if any(p.startswith("--") for p in parts):
            problems += [f"{p} is not an option of {parser.prog}" for p in parts if p not in options]
            flag = options.get(parts[0])
            continue
        if flag is not None and flag.choices and len(parts) > 1:
            problems += [f"{p} is not a choice of {flag.option_strings[0]}" for p in parts if p not in flag.choices]
        flag = None
    return problems


def test_cli_reference_synopses_use_only_real_verbs_flags_and_choices(commands):
    synopses = [c for c in commands if c.startswith("peerdraft ")]
    for command in synopses:
        assert not synopsis_problems(command), (command, synopsis_problems(command))
    verbs = {a for a in parser_for(["peerdraft"])[0]._actions if a.__class__.__name__ == "_SubParsersAction"}
    all_verbs = set(next(iter(verbs)).choices)
    listed = {shlex.split(c)[1] for c in synopses}
    assert all_verbs <= listed, f"verbs missing from the README's CLI reference: {sorted(all_verbs - listed)}"


def test_synopsis_check_catches_a_misspelled_flag_and_choice():
    assert synopsis_problems("peerdraft search QUERY [--kk 8] [--mode hybrid|fuzzy]") == [
        "--kk is not an option of peerdraft search", "fuzzy is not a choice of --mode"]


def test_console_script_help_lists_every_verb():
    script = Path(sys.executable).parent / "peerdraft"
    assert script.exists(), "the peerdraft console script is not installed in this environment"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for verb in ("run", "doctor", "generate", "index", "search", "draft", "check", "report", "export", "bib", "user",
                 "backup", "restore"):
        assert re.search(rf"^\s+{verb}\s", out.stdout, re.M), f"{verb} missing from peerdraft --help"


def test_doctor_json_reports_settings_and_embedded_models(data_dir, capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["data_dir"] == str(data_dir) and report["problems"] == []
    assert "all-MiniLM-L6-v2" in report["facts"]["embedding model"]
    assert "SmolLM2-135M" in report["facts"]["llm model"]


DRAFT = """# KV caching

Decoders keep the key and value tensors of earlier tokens [1], so each new token attends to them
without recomputing the prefix.

## References

[1] Pope, R., Douglas, S. (2022). Efficiently Scaling Transformer Inference. arXiv:2211.05102
"""


def test_check_export_and_backup_restore_on_a_draft(data_dir, tmp_path, monkeypatch, capsys):
    draft = tmp_path / "draft.md"
    draft.write_text(DRAFT, encoding="utf-8")

    assert main(["check", str(draft), "--json", "--assume", "prefix", "--no-suggestions", "--no-evaluation"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"jargon", "readability"} <= set(report)

    html = tmp_path / "out" / "draft.html"
    assert main(["export", str(draft), "--format", "html", "--out", str(html)]) == 0
    assert 'id="ref-1"' in html.read_text(encoding="utf-8")
    for fmt, marker in (("md", "## References"), ("bibtex", "eprint = {2211.05102}")):
        assert main(["export", str(draft), "--format", fmt]) == 0
        assert marker in capsys.readouterr().out

    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    assert main(["user", "add", "wren", "--role", "writer", "--password-stdin"]) == 0  # a database to back up
    backup = tmp_path / "backup"
    assert main(["backup", str(backup)]) == 0
    assert any(backup.iterdir())
    assert main(["restore", str(backup)]) == 0


def test_user_add_with_password_on_stdin_then_list(data_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    assert main(["user", "add", "alice", "--role", "writer", "--password-stdin"]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--json"]) == 0
    users = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["role"]) for u in users] == [("alice", "writer")]


# ---- the benchmark table -----------------------------------------------------------------------
def test_readme_benchmark_table_is_what_bench_readme_table_makes_from_results_md():
    readme = README.read_text(encoding="utf-8")
    results = (REPO / "bench" / "results.md").read_text(encoding="utf-8")
    assert readme == readme_table.readme_with_highlights(readme, results), (
        "README.md's benchmark highlights differ from bench/results.md: run python bench/readme_table.py")


def test_readme_table_reads_each_figure_from_its_results_section():
    results = (REPO / "bench" / "results.md").read_text(encoding="utf-8")
    llm = readme_table.section(results, "llm")
    column = "÷ raw passive" if "÷ raw passive" in llm else "÷ raw llama.cpp"
    ours = readme_table.cell(llm, "llm", "ours: llama-cpp", column)
    first = readme_table.highlight_rows(results)[0]
    assert first[0].startswith("our llama-cpp backend ÷ raw llama-cpp-python") and first[1] == f"{float(ours):.2f}"
    with pytest.raises(readme_table.MissingFigure, match="'ui' section"):
        readme_table.highlight_rows(re.sub(r"<!-- ui:start -->.*?<!-- ui:end -->", "", results, flags=re.S))
