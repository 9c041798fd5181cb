"""`python -m textclf` runs the command line."""

import sys

from textclf.cli import main

sys.exit(main())
