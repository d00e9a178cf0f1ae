"""`python -m localmind …` is the `localmind` command, for environments whose scripts are not on PATH."""

from localmind.cli import main

raise SystemExit(main())
