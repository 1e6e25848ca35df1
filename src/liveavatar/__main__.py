"""`python -m liveavatar` is the `liveavatar` command."""

from liveavatar.cli import main

raise SystemExit(main())
