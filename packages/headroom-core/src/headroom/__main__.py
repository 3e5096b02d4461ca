"""``python -m headroom`` runs the CLI."""

from headroom._cli import main

main()
