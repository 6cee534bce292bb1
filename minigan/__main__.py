"""python -m minigan: see minigan/cli.py."""
import sys

from minigan.cli import main

sys.exit(main())
