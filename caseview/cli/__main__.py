"""``python -m caseview.cli``: the same command as the ``caseview`` script."""

from caseview.cli import main

raise SystemExit(main())
