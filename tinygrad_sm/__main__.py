"""``python -m tinygrad_sm ...`` runs the command-line interface."""

from tinygrad_sm.cli import main

raise SystemExit(main())
