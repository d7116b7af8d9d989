"""The README documents every environment variable the configuration reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_config_variable_is_in_the_readme():
    config = (ROOT / "config.py").read_text()
    names = set(re.findall(r'(?:environ\.get|env_bool|env_int)\(\s*"([A-Z0-9_]+)"', config))
    assert {"SECRET_KEY", "DATABASE_URL", "MAIL_SERVER", "ARGON2_TIME_COST"} <= names
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"Document these in the README's Configuration table: {missing}"
