"""The scenario library: drill scenarios as validated YAML files (``library/*.yaml``).

``schema`` holds the pydantic models of the file format, ``loader`` reads a scenario by library
name or path and checks it against its plant, reporting every error with file, line and field.
Run one with :func:`safetwin.emergency_planner.incident.run_incident` or ``safetwin scenario run``.
See ``docs/scenarios.md``.
"""
