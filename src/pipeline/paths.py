"""Where the stages read and write, from paths.yaml: the one list that dvc.yaml (through DVC's
``vars``) and the stage scripts share. ``PATHS.features`` is ``<repository>/data/features/features.h5``;
``WORK.resume`` a place for work in progress that DVC does not track."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FILE = ROOT / "paths.yaml"


class Places:
    """The entries of one mapping of paths.yaml, as absolute paths: ``places.name``."""

    def __init__(self, entries: dict[str, str], root: Path = ROOT):
        self._entries = {name: root / value for name, value in entries.items()}
        self._relative = dict(entries)

    def __getattr__(self, name: str) -> Path:
        try:
            return self.__dict__["_entries"][name]
        except KeyError:
            raise AttributeError(f"{FILE.name} has no path named {name!r}") from None

    def names(self) -> set[str]:
        return set(self._entries)

    def relative(self, name: str) -> str:
        """The entry as paths.yaml writes it, relative to the repository (``data/weights``)."""
        return self._relative[name]


def _load(file: Path = FILE) -> dict[str, dict[str, str]]:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(file.read_text())


_DOC = _load()
PATHS = Places(_DOC["paths"])
WORK = Places(_DOC["work"])


def decoder_metrics(decoder: str) -> Path:
    """A decoder's metrics file: paths.yaml's ``decoder_metrics`` with ``_<decoder>.json`` added, as
    dvc.yaml names it (``${paths.decoder_metrics}_${item.model}.json``)."""
    return PATHS.decoder_metrics.with_name(f"{PATHS.decoder_metrics.name}_{decoder}.json")
