"""`python -m cli`, the same as the `wmgw` console script."""

from cli import main

main()
