"""The documentation keeps up with the code: every setting and every command is documented."""
from dataclasses import fields
from pathlib import Path

from storyline.cli import build_parser
from storyline.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [f.name for f in fields(Settings) if f"`{f.name}`" not in doc]
    assert not missing, f"undocumented settings: {missing}"


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = [name for name in sub.choices if f"storyline {name}" not in readme]
    assert not missing, f"commands missing from README: {missing}"


def test_readme_starts_with_the_two_commands():
    lines = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.strip()]
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert block[0].startswith("make demo") and block[1].startswith("make test")


def test_settings_from_file_and_environment(tmp_path, monkeypatch):
    (tmp_path / "storyline.toml").write_text('max_words = 60\neditor_token = "t0k"\n', encoding="utf-8")
    monkeypatch.setenv("STORYLINE_ALLOW_PRIVATE_NETWORK", "yes")
    monkeypatch.setenv("STORYLINE_MAX_WORDS", "70")
    s = Settings.load(data_dir=tmp_path, strict=True)
    assert (s.max_words, s.editor_token, s.allow_private_network, s.strict) == (70, "t0k", True, True)


def test_bad_setting_values_are_named(tmp_path, monkeypatch):
    import pytest

    from storyline.errors import ConfigError

    monkeypatch.setenv("STORYLINE_MAX_WORDS", "many")
    with pytest.raises(ConfigError, match="max_words"):
        Settings.load(data_dir=tmp_path)
