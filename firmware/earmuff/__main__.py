"""python -m earmuff."""

from .cli import main

raise SystemExit(main())
