"""The README's command table and the bot's /help say the same (issue 19)."""

from __future__ import annotations

import re
from pathlib import Path

from bot import texts

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def private_table_commands() -> set[str]:
    section = README.split("### In a private chat", 1)[1].split("###", 1)[0]
    return {m for line in section.splitlines() if line.startswith("| `/") for m in re.findall(r"`/([a-z]+)", line)}


def test_every_private_command_is_in_help_the_menu_and_the_readme():
    menu = {name for name, _ in texts.COMMANDS_PRIVATE}
    in_help = set(re.findall(r"/([a-z]+)", texts.HELP_PRIVATE)) | {"help"}
    table = private_table_commands()
    assert menu <= in_help, menu - in_help
    assert menu <= table, menu - table
    assert table - {"answer"} <= menu, table - menu  # /answer is for groups' menu; in private plain text answers


def test_every_group_command_is_in_the_group_help():
    in_help = set(re.findall(r"/([a-z]+)", texts.HELP_GROUP)) | {"help"}
    missing = {name for name, _ in texts.COMMANDS_GROUP} - in_help
    assert not missing, missing
