"""Generators for the plants shipped with SafeTwin (``python -m safetwin.plant_models.tools.build_demo_plant``)."""
