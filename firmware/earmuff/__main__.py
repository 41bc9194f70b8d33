"""python -m earmuff."""

from earmuff.cli.main import main

raise SystemExit(main())
