"""``python -m srbench``."""

from srbench.cli import main

main()
