import re

from rag.settings import Settings
from tests.conftest import ROOT

EXAMPLE = ROOT / ".env.example"


def test_env_example_lists_every_setting_and_only_those() -> None:
    listed = set(re.findall(r"^([A-Z_]+)=", EXAMPLE.read_text(), flags=re.MULTILINE))
    assert listed == {name.upper() for name in Settings.model_fields}


def test_env_example_as_is_gives_the_defaults(monkeypatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    assert Settings(_env_file=EXAMPLE) == Settings(_env_file=None)
