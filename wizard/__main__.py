"""`python -m clb_wizard` runs the CLI (what the `clb-wizard` script runs)."""

import sys

from clb_wizard.cli import main

sys.exit(main())
