"""Package mapping: the repository keeps the layout of DESIGN.md (twin/, live_bridge/, ...)
at the top level, and installs each folder as a subpackage of ``safetwin`` so imports read
``from safetwin.twin.state import TwinState``. pyproject.toml holds all other metadata."""
from setuptools import find_packages, setup

LAYOUT = ["twin", "live_bridge", "emergency_planner", "ui", "scenarios", "plant_models"]

packages = find_packages(include=["safetwin", "safetwin.*"])
package_dir = {"safetwin": "safetwin"}
for folder in LAYOUT:
    package_dir[f"safetwin.{folder}"] = folder
    packages.append(f"safetwin.{folder}")
    packages += [f"safetwin.{folder}.{sub}" for sub in find_packages(where=folder)]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "safetwin.plant_models": ["*/*.yaml", "*/*.geojson", "*/README.md"],
        "safetwin.scenarios": ["*.yaml", "library/*.yaml"],
        "safetwin.twin": ["store/migrations/*.py", "store/migrations/*.mako", "store/migrations/versions/*.py",
                          "workflows/rules/*.yaml"],
        "safetwin.emergency_planner": ["qra/data/*.yaml", "drill/*.yaml"],
        "safetwin.live_bridge": ["mosquitto.conf", "acl.template"],
    },
)
