"""`python -m gateway.cli` runs the same command line as the `lheo-gateway` script."""

from gateway.cli.app import main

main()
