"""``python -m benchmarks``: run the harness and print every figure beside its target."""
from __future__ import annotations

from benchmarks.run import main

raise SystemExit(main())
