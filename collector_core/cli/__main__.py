"""`python -m collector_core.cli`: the same as the `aws-collector` command."""
import sys

from collector_core.cli import main

sys.exit(main())
