"""python -m minigan: see minigan/cli.py."""
from minigan.cli import main
from minigan.flags import run

run(main)
