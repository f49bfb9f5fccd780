"""Image references: pinned, and from repositories that still get fixes. Pure Python, so
that the policy pack (policy/), which runs in a virtualenv of its own, can use it too."""

from __future__ import annotations

import re

# [registry[:port]/]repository, then :tag or @sha256:<64 hex>
_REPOSITORY = re.compile(r"^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._/-][a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
# Repositories whose tags no longer get fixes: Bitnami moved its versioned images to the
# frozen bitnamilegacy in August-September 2025 (bitnami/charts#35164).
FROZEN_REPOSITORIES = {
    "docker.io/bitnami": "Bitnami's versioned images moved to the frozen bitnamilegacy",
    "docker.io/bitnamilegacy": "bitnamilegacy is frozen: its images get no fixes",
}


def pinned_image(value: str) -> str:
    """An image reference pinned by tag or digest; `latest` moves, so it is no pin."""
    repository, at, digest = value.partition("@")
    if at:
        if not _DIGEST.match(digest):
            raise ValueError(f"{value!r}: a digest is sha256:<64 hex digits>")
    else:
        name, colon, tag = value.rpartition(":")
        if not colon or "/" in tag:
            raise ValueError(
                f"{value!r} has no tag: pin it as {value}:<version> or by @sha256 digest"
            )
        repository = name
        if not _TAG.match(tag) or tag == "latest":
            raise ValueError(f"{value!r}: tag {tag!r} is no pin; use a version or a digest")
    if not _REPOSITORY.match(repository):
        raise ValueError(f"{value!r}: {repository!r} is not an image repository")
    frozen = frozen_repository(repository)
    if frozen:
        raise ValueError(f"{value!r}: {frozen}; use a maintained image")
    return value


def frozen_repository(repository: str) -> str | None:
    """Why `repository` is known to be frozen, or None. Docker Hub names are normalised
    (`bitnami/redis` is `docker.io/bitnami/redis`)."""
    parts = repository.split("/")
    if len(parts) == 1 or ("." not in parts[0] and ":" not in parts[0]):
        parts = ["docker.io", *parts]
    return FROZEN_REPOSITORIES.get("/".join(parts[:2]))
