"""A minimal PEP 517 build backend for the plugin distributions the tests install.

The setuptools installed with this project's Python (65.5.0) builds wheels only with
the separate ``wheel`` distribution, which is not installed, and the tests must not
download anything. This backend needs only the standard library: it packs every
package directory next to ``pyproject.toml``, plus the ``[project]`` name, version
and entry points, into a pure-Python wheel. The ``broken_plugins`` fixture in
``tests/conftest.py`` copies this file into each distribution before ``pip install``
builds it, because PEP 517 requires ``backend-path`` to stay inside the source tree.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any


def _project() -> dict[str, Any]:
    # PEP 517 runs every hook with the source tree as the working directory.
    with open("pyproject.toml", "rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _package_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for init in sorted(Path().glob("*/__init__.py")):
        for path in sorted(init.parent.rglob("*.py")):
            files[path.as_posix()] = path.read_bytes()
    return files


def _metadata(project: dict[str, Any]) -> dict[str, bytes]:
    dist_info = f"{_normalized(project['name'])}-{project['version']}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    wheel = (
        "Wheel-Version: 1.0\nGenerator: wheel_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entry_points = ""
    for group, entries in project.get("entry-points", {}).items():
        entry_points += f"[{group}]\n"
        entry_points += "".join(f"{name} = {value}\n" for name, value in entries.items())
    return {
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": wheel.encode(),
        f"{dist_info}/entry_points.txt": entry_points.encode(),
    }


def _record_line(path: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(content)}\n"


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """Build the wheel in ``wheel_directory`` and return its file name."""
    project = _project()
    files = {**_package_files(), **_metadata(project)}
    name = f"{_normalized(project['name'])}-{project['version']}"
    record_path = f"{name}.dist-info/RECORD"
    record = "".join(_record_line(path, content) for path, content in files.items())
    files[record_path] = (record + f"{record_path},,\n").encode()

    file_name = f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / file_name, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return file_name


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    """Build a source archive of the package directories and ``pyproject.toml``."""
    project = _project()
    name = f"{_normalized(project['name'])}-{project['version']}"
    files = {**_package_files(), "pyproject.toml": Path("pyproject.toml").read_bytes()}

    file_name = f"{name}.tar.gz"
    with tarfile.open(Path(sdist_directory) / file_name, "w:gz") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return file_name
