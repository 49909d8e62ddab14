"""The service's package: a {{service.type}} from the paved golden path.

Service: {{service.name}}

Python 3.11 standard library only: the service builds and tests offline.
Start it with `python3 -m app` (what `make run` and the image do).
"""
