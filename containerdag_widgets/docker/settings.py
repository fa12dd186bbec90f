"""How warm containers are started: hardened by default, loosened per image only by a label.

``ContainerSettings`` holds a registry's defaults (no network, read-only root with a tmpfs
``/tmp``, every capability dropped, no new privileges, pids, memory and CPU limits).
An image may ask for other values with labels ``containerdag.<setting>=<value>``
(see ``LABELS``); ``for_image`` applies them and names the ones it applied, so the registry
widget and ``containerdag describe`` can show what each image runs with.

This module imports nothing of Docker: it only builds the keyword arguments of docker-py's
``containers.create``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ..model.errors import ContainerDagError, DescriptionError, OptionError

__all__ = ["ContainerSettings", "LabelError", "LABELS", "LABEL_NAMESPACE", "UNPRIVILEGED",
           "parse_size", "size_text"]

#: Image labels in this namespace configure the image's container.
LABEL_NAMESPACE = "containerdag."

_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*$", re.IGNORECASE)
#: Docker refuses a memory limit below 6 MiB.
MIN_MEMORY = 6 * 2**20
#: Labels the toolkit puts on the containers it starts; ignored if an image carries them.
_CONTAINER_LABELS = {"managed", "session", "pid", "host", "worker"}


def parse_size(value: Any) -> int:
    """Bytes of ``value``: an int, or a string like ``512m``, ``1g``, ``64k`` (binary units)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(value)
        return value
    if not isinstance(value, str):
        raise ValueError(value)
    match = _SIZE.match(value)
    if not match:
        raise ValueError(value)
    number = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if number < 1 or not math.isfinite(number):
        raise ValueError(value)
    return int(number)


def size_text(nbytes: int) -> str:
    """``536870912`` -> ``512m``: the largest binary unit that divides it exactly."""
    for suffix, unit in (("g", 2**30), ("m", 2**20), ("k", 2**10)):
        if nbytes % unit == 0:
            return f"{nbytes // unit}{suffix}"
    return str(nbytes)


def _parse_bool(value: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(value)


def _parse_network(value: str) -> str:
    text = value.strip().lower()
    if text not in ("none", "bridge"):
        raise ValueError(value)
    return text


def _parse_memory(value: str) -> int:
    nbytes = parse_size(value)
    if nbytes < MIN_MEMORY:
        raise ValueError(value)
    return nbytes


def _parse_cpus(value: str) -> float:
    cpus = float(value)
    if not math.isfinite(cpus) or cpus < 0.01:
        raise ValueError(value)
    return cpus


_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?$")


def _parse_user(value: str) -> str:
    text = value.strip()
    if not _USER.match(text):
        raise ValueError(value)
    return text


def _parse_count(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(value)
    return int(text)


#: The image labels an image may set: label -> (setting, parser, what a value must be).
LABELS: dict[str, tuple[str, Any, str]] = {
    "containerdag.network": ("network", _parse_network, "none or bridge"),
    "containerdag.read_only": ("read_only", _parse_bool, "true or false"),
    "containerdag.tmp_size": ("tmp_size", parse_size, "a size like 64m or 1g"),
    "containerdag.memory": ("mem_limit", _parse_memory, "a size of at least 6m, like 512m or 2g"),
    "containerdag.cpus": ("cpus", _parse_cpus, "a number of CPUs of at least 0.01, like 0.5 or 2"),
    "containerdag.pids_limit": ("pids_limit", _parse_count, "a whole number above 0, like 512"),
    "containerdag.user": ("user", _parse_user, "a user like root, 1000 or 1000:1000"),
}

#: The user of a container whose image sets no ``USER`` (and no label or setting asks for
#: one): ``nobody:nogroup`` on Debian, as numbers, so it works in any image.
UNPRIVILEGED = "65534:65534"


def _near_miss(label: str) -> str | None:
    """The known label that ``label`` looks like a misspelling of (``memroy``, ``readonly``)."""
    suffix = label[len(LABEL_NAMESPACE):].lower().replace("-", "_")
    names = {known[len(LABEL_NAMESPACE):]: known for known in LABELS}
    if suffix in names:  # right name, wrong case or dash
        return names[suffix]
    close = difflib.get_close_matches(suffix, list(names), n=1, cutoff=0.8)
    return names[close[0]] if close else None


class LabelError(DescriptionError):
    """Image labels ``containerdag.<setting>`` that cannot be used; the image is not run.

    ``bad`` lists each offending ``(label, value, expected)``; ``label`` and ``value`` are the
    first. Discovery reports one per process of the image (``process`` set), so asking the
    registry for such a process says why it is missing.
    """

    def __init__(self, bad: list[tuple[str, str, str]], *, image: str,
                 process: str | None = None):
        self.bad = list(bad)
        self.label, self.value = self.bad[0][0], self.bad[0][1]
        self.detail = "; ".join(
            f"label {label}={value!r}: " + (expected if expected.startswith("unknown")
                                             else f"expected {expected}")
            for label, value, expected in self.bad)
        if process is not None:
            super().__init__(self.detail, process=process, image=image)
        else:
            self.process = None
            self.image = image
            self.output = ""
            ContainerDagError.__init__(self, f"image {image!r}: {self.detail}")

    def for_process(self, process: str) -> LabelError:
        """The same problem, reported for one process of the image."""
        return LabelError(self.bad, image=self.image, process=process)


@dataclass(frozen=True)
class ContainerSettings:
    """How the warm container of each image is started (the registry's defaults).

    Sizes are given as bytes or strings like ``"512m"``/``"1g"`` and kept as bytes; ``None``
    removes a limit. ``image_labels=False`` ignores the images' ``containerdag.*`` labels.
    The memory, CPU and pids limits hold for the image's whole container, shared by the calls
    of that image that run at the same time.
    """

    #: ``network_mode``: ``"none"`` (only loopback), ``"bridge"``, or a network's name.
    network: str = "none"
    #: Root filesystem read-only; ``/tmp`` is a writable tmpfs either way.
    read_only: bool = True
    #: Size of the tmpfs at ``/tmp`` (its pages count against the memory limit).
    tmp_size: int | str = "64m"
    #: Capabilities dropped (``()`` keeps Docker's default set).
    cap_drop: tuple[str, ...] = ("ALL",)
    #: ``security_opt=["no-new-privileges"]``: setuid binaries gain nothing.
    no_new_privileges: bool = True
    #: Most processes (and threads) alive at once in the container.
    pids_limit: int | None = 256
    #: Memory limit (swap included: ``memswap_limit`` is set to the same value).
    mem_limit: int | str | None = "512m"
    #: CPU limit in CPUs (``nano_cpus``); Docker refuses more than the engine's host has.
    cpus: float | None = 1.0
    #: ``user`` (``"uid[:gid]"`` or a name); ``None``: the image's ``USER`` if it sets one,
    #: else ``UNPRIVILEGED`` (65534:65534). An image label ``containerdag.user`` overrides.
    user: str | None = None
    #: Apply the images' ``containerdag.*`` labels.
    image_labels: bool = True
    #: Settings taken from the image's labels (set by ``for_image``).
    from_labels: tuple[str, ...] = ()
    #: Where ``for_image`` took the user from when none was set: ``"image"`` (its ``USER``)
    #: or ``"default"`` (``UNPRIVILEGED``); ``""`` otherwise.
    user_source: str = ""

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if not isinstance(self.network, str) or not self.network.strip():
            raise OptionError("network", self.network, "'none', 'bridge' or a network's name")
        for name in ("read_only", "no_new_privileges", "image_labels"):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(name, getattr(self, name), "True or False")
        try:
            put("tmp_size", parse_size(self.tmp_size))
        except ValueError:
            raise OptionError("tmp_size", self.tmp_size,
                              "a size in bytes or like '64m' or '1g'") from None
        if self.mem_limit is not None:
            try:
                put("mem_limit", _parse_memory(self.mem_limit) if isinstance(self.mem_limit, str)
                    else parse_size(self.mem_limit))
            except ValueError:
                raise OptionError("mem_limit", self.mem_limit,
                                  "None or a size of at least 6m, like '512m' or '2g'") from None
            if self.mem_limit < MIN_MEMORY:
                raise OptionError("mem_limit", self.mem_limit, "at least 6m (Docker's minimum)")
        if self.cpus is not None:
            ok = (isinstance(self.cpus, (int, float)) and not isinstance(self.cpus, bool)
                  and math.isfinite(self.cpus) and self.cpus >= 0.01)
            if not ok:
                raise OptionError("cpus", self.cpus, "None or a number of CPUs of at least 0.01")
            put("cpus", float(self.cpus))
        if self.pids_limit is not None and (
                not isinstance(self.pids_limit, int) or isinstance(self.pids_limit, bool)
                or self.pids_limit < 1):
            raise OptionError("pids_limit", self.pids_limit, "None or a whole number above 0")
        if isinstance(self.cap_drop, str) or not all(
                isinstance(c, str) and c.strip() for c in self.cap_drop):
            raise OptionError("cap_drop", self.cap_drop, "a list of capability names, e.g. ['ALL']")
        put("cap_drop", tuple(c.strip().upper() for c in self.cap_drop))
        if isinstance(self.user, int) and not isinstance(self.user, bool):
            put("user", str(self.user))
        if self.user is not None and (not isinstance(self.user, str) or not self.user.strip()):
            raise OptionError("user", self.user, "None, or a user like '1000' or '1000:1000'")
        put("from_labels", tuple(self.from_labels))

    # ---- per image ----------------------------------------------------------------------

    def for_image(self, labels: Mapping[str, str] | None, *, image: str,
                  image_user: str = "") -> ContainerSettings:
        """These settings with the image's ``containerdag.*`` labels applied, and the user
        resolved: a ``containerdag.user`` label, else the ``user`` setting, else the image's
        ``USER`` (``image_user``, its config's ``User``), else ``UNPRIVILEGED``.

        ``LabelError`` names every label whose value cannot be used, and every label that
        looks like a misspelt one of ``LABELS`` (a typo must not silently leave a setting at
        its default). Other labels of the namespace are left alone: images use it for their
        own purposes too.
        """
        changes: dict[str, Any] = {}
        bad: list[tuple[str, str, str]] = []
        for label, value in sorted((labels or {}).items() if self.image_labels else ()):
            if not label.startswith(LABEL_NAMESPACE) or \
                    label[len(LABEL_NAMESPACE):] in _CONTAINER_LABELS:
                continue
            known = LABELS.get(label)
            if known is None:
                near = _near_miss(label)
                if near:
                    bad.append((label, value, f"unknown label (did you mean {near}?)"))
                continue
            setting, parse, expected = known
            try:
                changes[setting] = parse(value)
            except (ValueError, TypeError, AttributeError):
                bad.append((label, value, expected))
        if bad:
            raise LabelError(bad, image=image)
        resolved: dict[str, Any] = {}
        if "user" not in changes and self.user is None:
            resolved = ({"user": image_user.strip(), "user_source": "image"}
                        if image_user.strip()
                        else {"user": UNPRIVILEGED, "user_source": "default"})
        if not changes and not resolved:
            return self
        return replace(self, **changes, **resolved, from_labels=tuple(sorted(changes)))

    # ---- to Docker ----------------------------------------------------------------------

    @property
    def tmpfs_options(self) -> str:
        # exec: tools unpack native libraries into /tmp and load them (JNA, snappy-java...);
        # with any interpreter in the image, noexec would stop little else.
        return f"rw,nosuid,nodev,exec,size={self.tmp_size},mode=1777"

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for docker-py's ``containers.create`` (host config and user)."""
        kwargs: dict[str, Any] = {
            "network_mode": self.network,
            "read_only": self.read_only,
            "tmpfs": {"/tmp": self.tmpfs_options},
        }
        if self.cap_drop:
            kwargs["cap_drop"] = list(self.cap_drop)
        if self.no_new_privileges:
            kwargs["security_opt"] = ["no-new-privileges"]
        if self.pids_limit is not None:
            kwargs["pids_limit"] = self.pids_limit
        if self.mem_limit is not None:
            kwargs["mem_limit"] = self.mem_limit
            kwargs["memswap_limit"] = self.mem_limit  # no swap beyond the limit
        if self.cpus is not None:
            kwargs["nano_cpus"] = round(self.cpus * 1e9)
        # Never the image's root by omission: unresolved (no ``for_image``), the default.
        kwargs["user"] = self.user if self.user is not None else UNPRIVILEGED
        return kwargs

    def key(self) -> str:
        """A stable text of what the container gets (not where it came from)."""
        return repr(sorted(self.create_kwargs().items()))

    # ---- for people ---------------------------------------------------------------------

    @property
    def memory_text(self) -> str:
        return size_text(self.mem_limit) if self.mem_limit is not None else "unlimited"

    def summary(self) -> str:
        """One line: ``network none, read-only root, /tmp tmpfs 64m, caps dropped, ...``.

        A setting that an image label changed is marked ``(image label)``.
        """
        parts = {
            "network": f"network {self.network}",
            "read_only": "read-only root" if self.read_only else "writable root",
            "tmp_size": f"/tmp tmpfs {size_text(self.tmp_size)}",
            "cap_drop": ("caps dropped" if self.cap_drop == ("ALL",)
                         else f"caps dropped: {', '.join(self.cap_drop)}" if self.cap_drop
                         else "Docker's default caps"),
            "no_new_privileges": ("no-new-privileges" if self.no_new_privileges
                                  else "new privileges allowed"),
            "mem_limit": f"memory {self.memory_text}",
            "cpus": f"cpus {self.cpus:g}" if self.cpus is not None else "cpus unlimited",
            "pids_limit": (f"pids {self.pids_limit}" if self.pids_limit is not None
                           else "pids unlimited"),
        }
        parts["user"] = f"user {self.user if self.user is not None else UNPRIVILEGED}" + {
            "image": " (the image's USER)",
            "default": " (unprivileged: the image sets no USER)",
        }.get(self.user_source, "" if self.user is not None else " (unprivileged default)")
        return ", ".join(text + (" (image label)" if name in self.from_labels else "")
                         for name, text in parts.items())

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data (sizes in bytes), e.g. for JSON."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}
