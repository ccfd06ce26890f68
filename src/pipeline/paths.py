"""Where the stages read and write, from a repository's paths.yaml: the one list that dvc.yaml
(through DVC's ``vars``) and the stage scripts share.

``Paths.of(root)`` reads ``<root>/paths.yaml``; ``paths.features`` is then
``<root>/data/features/features.h5`` and ``paths.work.resume`` a place for work in progress that
DVC does not track. The root is always given (the stage's own repository: a test's copy or a queued
experiment's, whichever copy of this module Python imported).
"""

from __future__ import annotations

from pathlib import Path

NAME = "paths.yaml"


class Places:
    """The entries of one mapping of paths.yaml, as paths under ``root``: ``places.name``."""

    def __init__(self, entries: dict[str, str], root: Path):
        self._entries = {name: root / value for name, value in entries.items()}
        self._relative = dict(entries)

    def __getattr__(self, name: str) -> Path:
        try:
            return self.__dict__["_entries"][name]
        except KeyError:
            raise AttributeError(f"{NAME} has no path named {name!r}") from None

    def names(self) -> set[str]:
        return set(self._entries)

    def relative(self, name: str) -> str:
        """The entry as paths.yaml writes it, relative to the repository (``data/weights``)."""
        return self._relative[name]


class Paths(Places):
    """paths.yaml's ``paths`` (what dvc.yaml declares), with its ``work`` places as ``.work``."""

    work: Places

    def __init__(self, doc: dict[str, dict[str, str]], root: Path):
        super().__init__(doc["paths"], root)
        self.__dict__["work"] = Places(doc["work"], root)

    @classmethod
    def of(cls, root: Path) -> Paths:
        from ruamel.yaml import YAML

        root = Path(root)
        return cls(YAML(typ="safe", pure=True).load((root / NAME).read_text(encoding="utf-8")), root)

    def decoder(self, decoder: str, seed: int) -> Path:
        """A run's trained decoder, as dvc.yaml names it (``${paths.decoders}/${item.model}/seed${item.seed}.pt``)."""
        return self.decoders / decoder / f"seed{seed}.pt"


def run_name(decoder: str, seed: int) -> str:
    """One decoder trained with one seed: the name of its files (``${item.model}_seed${item.seed}``
    in dvc.yaml): ``metrics/captioner/<run>.json``, ``metrics/test_scores/<run>.json``, …"""
    return f"{decoder}_seed{seed}"
