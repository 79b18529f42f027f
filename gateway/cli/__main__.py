"""`python -m gateway.cli`, the same as the `wmgw` console script."""

from gateway.cli import main

main()
