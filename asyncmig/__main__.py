"""``python -m asyncmig``."""

from asyncmig.cli import main

raise SystemExit(main())
