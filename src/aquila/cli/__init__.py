"""The `aquila` command line: orbits, constellation, the shared library and the demo."""

__all__: list[str] = []
