"""Every command's --help says what it does, and what each of its arguments wants."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from caseview.cli import parser as cli_parser


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(cli_parser.build()))


def test_there_are_commands_to_check() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"capture", "justification review", "user add", "audit"} <= names


def test_every_command_opens_its_help_with_what_it_does() -> None:
    missing = [" ".join(path) for path, p in COMMANDS if path and not p.description]
    assert missing == []


def test_every_argument_says_what_it_wants() -> None:
    missing = [
        f"{' '.join(path)} {action.metavar or action.dest}"
        for path, p in COMMANDS
        for action in p._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert missing == []


def test_an_id_says_which_thing_it_names() -> None:
    helps = {
        " ".join(path): next(a.help for a in p._actions if a.dest == "id")
        for path, p in COMMANDS
        if any(a.dest == "id" for a in p._actions)
    }
    assert helps["justification submit"] == (
        "the justification's id (caseview justification list CASE)"
    )
    assert helps["source show"] == "the source's id (caseview source list CASE)"
