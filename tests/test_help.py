"""Every program's --help explains every flag: a flag listed bare (`--seed SEED`) leaves the user to guess
what it does and what it is when not given."""
import argparse
import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = sorted(os.path.join(folder, name) for folder in ("examples", "scripts", "benchmarks")
                  for name in os.listdir(os.path.join(ROOT, folder))
                  if name.endswith(".py") and "argparse" in open(os.path.join(ROOT, folder, name)).read())


class Parsed(Exception):
    """Raised in place of parsing: carries the program's parser out of its main()."""


def parser_of(main, monkeypatch):
    def capture(parser, args=None, namespace=None):
        raise Parsed(parser)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", capture)
    with pytest.raises(Parsed) as parsed:
        main()
    return parsed.value.args[0]


def bare_flags(parser, name):
    """The options and arguments of `parser` (and of its commands) without a help text."""
    bare = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                bare += bare_flags(sub, f"{name} {command}")
        elif action.help is None:
            bare.append(f"{name} {action.option_strings[-1] if action.option_strings else action.dest}")
    return bare


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_flag_of_every_program_says_what_it_does(program, monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, os.path.dirname(program)))   # the benchmarks' common.py
    spec = importlib.util.spec_from_file_location(os.path.basename(program)[:-3], os.path.join(ROOT, program))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", [program])
    assert bare_flags(parser_of(module.main, monkeypatch), program) == []


def test_every_flag_of_python_m_minigan_says_what_it_does(monkeypatch):
    from minigan import cli
    assert bare_flags(parser_of(lambda: cli.main([]), monkeypatch), "python -m minigan") == []
