"""Unit tests: `make test` (python3 -m unittest discover -s tests -t .)."""
