"""Public surface of ``financeiro``: its service Protocol, frozen dataclasses and
domain errors. Imports nothing else of the app and no ORM. Filled in by the
issue that builds the app."""
