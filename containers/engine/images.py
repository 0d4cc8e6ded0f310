"""Images: references, pull, list, inspect, history, tag and remove (`docker images`, `pull`, `rmi`...)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import docker
import docker.errors
from django.utils.translation import gettext

from containers import cli
from containers.engine.containers import ContainerRow
from containers.engine.errors import Conflict, EngineError, NotFound, _explanation


@dataclass(frozen=True)
class ImageReference:
    repository: str  # with the registry, if any: "127.0.0.1:5000/team/app"
    tag: str  # "latest" when none was given
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"


# digest.Algorithm's registered algorithms and the length of their hex encoding
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def parse_image_reference(text: str) -> ImageReference:
    """`name[:tag][@digest]` as `docker pull` takes it (default tag latest), checked by the grammar of
    distribution/reference that Docker uses. ValueError says what is wrong."""
    text = (text or "").strip()
    if not text:
        raise ValueError(gettext("Give an image name, such as debian:bookworm"))
    if any(ch.isspace() for ch in text):
        raise ValueError(gettext("'%(text)s' is not a valid image reference: it contains spaces") % {"text": text})
    m = cli.REFERENCE.match(text)
    if not m:
        if cli.REFERENCE.match(text.lower()):
            raise ValueError(_lowercase_error(text))
        raise ValueError(
            gettext("'%(text)s' is not a valid image reference; use name[:tag], e.g. debian:bookworm") % {"text": text}
        )
    registry = m["domain"] or ""
    if registry and not any(c in registry for c in ".:[") and registry != "localhost" and registry != registry.lower():
        # not a registry host (no dot, port or localhost) but the first path component, as Docker reads it
        raise ValueError(_lowercase_error(text))
    repository = f"{registry}/{m['path']}" if registry else m["path"]
    if re.fullmatch(r"[a-f0-9]{64}", m["path"]):
        raise ValueError(
            gettext(
                "'%(text)s' is not a valid image reference: a 64-character hexadecimal name reads as an image"
                " ID, which cannot be pulled; give the repository name"
            )
            % {"text": text}
        )
    if len(repository) > 255:
        raise ValueError(
            gettext(
                "'%(text)s…' is not a valid image reference: the repository name is %(length)d"
                " characters long, 255 at most"
            )
            % {"text": text[:40], "length": len(repository)}
        )
    digest = m["digest"] or ""
    if digest:
        algorithm, _, encoded = digest.partition(":")
        length = _DIGEST_LENGTHS.get(algorithm)
        if length is None:
            raise ValueError(
                gettext(
                    "'%(text)s' is not a valid image reference: unsupported digest algorithm '%(algorithm)s'"
                    " (sha256, sha384 or sha512)"
                )
                % {"text": text, "algorithm": algorithm}
            )
        if len(encoded) != length or encoded != encoded.lower():
            raise ValueError(
                gettext(
                    "'%(text)s' is not a valid image reference: a %(algorithm)s digest is %(length)d lowercase"
                    " hexadecimal characters, this one has %(found)d"
                )
                % {"text": text, "algorithm": algorithm, "length": length, "found": len(encoded)}
            )
    return ImageReference(repository=repository, tag=m["tag"] or "latest", digest=digest)


def _lowercase_error(text: str) -> str:
    return gettext("'%(text)s' is not a valid image reference: repository names must be lowercase ('%(hint)s')") % {
        "text": text,
        "hint": _lowercase_name(text),
    }


def _lowercase_name(text: str) -> str:
    """The reference with its repository path lowercased (the tag may have capitals), for the hint."""
    m = cli.REFERENCE.match(text.lower())
    if not m:
        return text.lower()
    registry = m["domain"] or ""
    keep = len(registry) + 1 if registry and any(c in registry for c in ".:[") else 0  # a host's case stays
    return text[:keep] + text[keep : m.end("path")].lower() + text[m.end("path") :]


def _pull_error(ref: ImageReference, text: str) -> str:
    lowered = text.lower()
    if "not found" in lowered or "manifest unknown" in lowered or "does not exist" in lowered:
        return gettext("Image %(ref)s was not found in its registry: %(error)s") % {"ref": ref, "error": text}
    if "dial tcp" in lowered or "no such host" in lowered or "connection refused" in lowered or "timeout" in lowered:
        return gettext("The registry for %(ref)s cannot be reached: %(error)s") % {"ref": ref, "error": text}
    return gettext("Pulling %(ref)s failed: %(error)s") % {"ref": ref, "error": text}


@dataclass(frozen=True)
class ImageRow:
    """One image of /images/json, with every repo:tag it carries."""

    id: str  # "sha256:..."
    repo_tags: list[str]
    repo_digests: list[str]
    created: int
    size: int
    containers: int  # -1 when the engine did not count

    @property
    def dangling(self) -> bool:
        return not [t for t in self.repo_tags if t != "<none>:<none>"]


class ImageInUse(Conflict):
    """The image cannot go: containers use it (names them and what to do)."""

    def __init__(self, message: str, users: list[ContainerRow]):
        self.users = users
        super().__init__(message)


class ImageCalls:
    """The image calls of an Engine."""

    def image_exists(self, reference: str) -> bool:
        try:
            self.client().api.inspect_image(reference)
            return True
        except docker.errors.ImageNotFound:
            return False
        except Exception as e:
            raise self.translate(e) from e

    def pull(self, ref: ImageReference):
        """Pull an image, yielding the engine's progress events as plain dicts, like the CLI shows them.

        Each event has "id" (layer, may be empty), "status", and "current"/"total" bytes when known.
        Raises EngineError with the registry's message if the pull fails (unknown image, no registry).
        """
        tag_or_digest = ref.digest or ref.tag
        try:
            stream = self.client(long=True).api.pull(ref.repository, tag=tag_or_digest, stream=True, decode=True)
            for event in stream:
                if "error" in event:
                    raise EngineError(_pull_error(ref, event.get("error", "")))
                detail = event.get("progressDetail") or {}
                yield {
                    "id": event.get("id", ""),
                    "status": event.get("status", ""),
                    "current": detail.get("current"),
                    "total": detail.get("total"),
                }
        except EngineError:
            raise
        except docker.errors.APIError as e:
            raise EngineError(_pull_error(ref, _explanation(e))) from e
        except Exception as e:
            raise self.translate(e, f"pull {ref}") from e

    def list_images(self, all: bool = False) -> list[ImageRow]:
        """`docker images [-a]` in one /images/json call."""
        try:
            rows = self.client().api.images(all=all)
        except Exception as e:
            raise self.translate(e, "list images") from e
        return [
            ImageRow(
                id=r["Id"],
                repo_tags=r.get("RepoTags") or [],
                repo_digests=r.get("RepoDigests") or [],
                created=int(r.get("Created") or 0),
                size=int(r.get("Size") or 0),
                containers=int(r.get("Containers", -1)),
            )
            for r in rows
        ]

    def inspect_image(self, ref: str) -> dict:
        """`docker image inspect`; NotFound names the image."""
        try:
            return self.client().api.inspect_image(ref)
        except docker.errors.ImageNotFound as e:
            raise NotFound(f"No such image: {ref}") from e
        except Exception as e:
            raise self.translate(e, f"inspect {ref}") from e

    def image_history(self, ref: str) -> list[dict]:
        """`docker history`: the image's layers, newest first (Id "<missing>" for layers built elsewhere)."""
        try:
            return self.client().api.history(ref)
        except docker.errors.ImageNotFound as e:
            raise NotFound(f"No such image: {ref}") from e
        except Exception as e:
            raise self.translate(e, f"history {ref}") from e

    def containers_using_image(self, image_id: str) -> list[ContainerRow]:
        """Containers created from exactly this image (one list call)."""
        return [r for r in self.list_containers(all=True) if r.image_id == image_id]

    def ensure_dangling(self, image_id: str) -> None:
        """Conflict unless `image_id` is a full image ID (sha256:…) of an untagged image no container
        uses: what `docker image prune` would remove. Checked just before the removal."""
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", image_id):
            raise Conflict(
                gettext("%(id)s is not an image ID (sha256:…); prune removes dangling images by ID only")
                % {"id": image_id[:80]}
            )
        info = self.inspect_image(image_id)
        if info.get("RepoTags"):
            raise Conflict(
                gettext("%(id)s is tagged %(tags)s: not dangling, so prune keeps it")
                % {"id": image_id[7:19], "tags": ", ".join(info["RepoTags"])}
            )
        if self.containers_using_image(image_id):
            raise Conflict(gettext("%(id)s is used by a container: prune keeps it") % {"id": image_id[7:19]})

    def remove_image(self, ref: str, force: bool = False) -> list[str]:
        """`docker rmi [-f]`: returns the engine's "Untagged:/Deleted:" lines. In use: ImageInUse."""
        try:
            done = self.client(long=True).api.remove_image(ref, force=force)
        except docker.errors.APIError as e:
            if e.status_code == 409:
                image_id = self.inspect_image(ref)["Id"]
                users = self.containers_using_image(image_id)
                if users:
                    listed = ", ".join(f"{u.name} ({u.id[:12]}, {u.state})" for u in users)
                    running = [u for u in users if u.state in ("running", "paused", "restarting")]
                    fix = (
                        gettext(
                            "Stop and remove the container first; even force cannot delete an image a running container uses."
                        )
                        if running
                        else gettext(
                            "Remove the container first, or use force (which only removes the name; the layers stay for the container)."
                        )
                    )
                    raise ImageInUse(
                        gettext("Image %(ref)s is in use by container %(containers)s. %(fix)s")
                        % {"ref": ref, "containers": listed, "fix": fix},
                        users,
                    ) from e
                raise Conflict(f"rmi {ref}: {_explanation(e)}") from e
            raise self.translate(e, f"rmi {ref}") from e
        except Exception as e:
            raise self.translate(e, f"rmi {ref}") from e
        lines = []
        for item in done or []:
            for key, value in item.items():
                lines.append(f"{key}: {value}")
        return lines

    def tag_image(self, ref: str, target: ImageReference) -> None:
        """`docker tag SOURCE TARGET`."""
        try:
            ok = self.client().api.tag(ref, target.repository, tag=target.tag, force=True)
        except docker.errors.ImageNotFound as e:
            raise NotFound(f"No such image: {ref}") from e
        except Exception as e:
            raise self.translate(e, f"tag {ref}") from e
        if ok is False:
            raise EngineError(
                gettext("tag %(ref)s: the engine refused to tag it as %(target)s") % {"ref": ref, "target": target}
            )

    def local_image_tags(self) -> list[str]:
        """repo:tag of every local image, sorted, to offer in the run form."""
        try:
            rows = self.client().api.images()
        except Exception as e:
            raise self.translate(e) from e
        return sorted({t for r in rows for t in (r.get("RepoTags") or []) if t != "<none>:<none>"})
