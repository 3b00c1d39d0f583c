"""Source data that travels with the project (package data, so an installed copy finds it too); see README.md."""

from importlib.resources import files
from pathlib import Path


def folder(name: str) -> Path:
    """The folder of one shipped data set on disk, e.g. `folder("berka")`."""
    path = files(__name__) / name
    if not isinstance(path, Path) or not path.is_dir():
        raise FileNotFoundError(f"data set {name!r} is not installed as a folder on disk ({path})")
    return path
