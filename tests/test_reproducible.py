"""The same commit gives the same bytes on every machine: the encoder's weights are a param and a
file DVC tracks, never what a machine happens to have; and what else a machine could decide (the
Fashion-MNIST source, fonts, the tests' own guards) is shown here to change no byte.

The end-to-end half is in tests/test_pipeline.py: the smoke run is made on a hostile machine
(conftest.guarded_env) and its outputs compared with a run in the plain environment.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import GUARD, SYSTEM_FMNIST, copy_repo, git_init, guard_log, needs_fmnist
from PIL import Image
from test_caption_sets import needs_wide_font
from torchvision.models import resnet18

import hw2.captioning.weights as weights
from hw2.captioning.features import build_encoder
from hw2.common.checksum import file_sha256
from hw2.common.errors import InputError

# --- the tests' guards catch what they are there to catch ------------------------------------


def guarded(tmp_path: Path, code: str) -> subprocess.CompletedProcess:
    hub = tmp_path / "torch_home"
    (hub / "hub" / "checkpoints").mkdir(parents=True, exist_ok=True)
    (hub / "hub" / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(b"decoy")
    env = {
        **os.environ,
        "PYTHONPATH": str(GUARD),
        "HW2_GUARD_LOG": str(tmp_path / "guard.log"),
        "TORCH_HOME": str(hub),
    }
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_the_socket_guard_refuses_the_network_and_the_hub_watch_sees_the_cache(tmp_path):
    proc = guarded(
        tmp_path,
        "import os, urllib.request\n"
        "try:\n    urllib.request.urlopen('http://127.0.0.1:9/', timeout=5)\nexcept OSError as e:\n    print(e)\n"
        "open(os.path.join(os.environ['TORCH_HOME'], 'hub', 'checkpoints', 'resnet18-f37072fd.pth'), 'rb').read()\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "refused by the tests' socket guard" in proc.stdout
    events = [(what, detail) for _, what, detail in guard_log(tmp_path)]
    assert [w for w, _ in events] == ["network", "hub", "ran"], events
    assert "resnet18-f37072fd.pth" in events[1][1]


def test_the_dependency_audit_sees_a_stage_that_writes_what_it_reads(tmp_path):
    (tmp_path / "stage.py").write_text("open('input.txt', 'a').write('more')\nopen('output.txt', 'w').write('x')\n")
    (tmp_path / "input.txt").write_text("data")
    (tmp_path / "other.txt").write_text("untouched")
    (tmp_path / "deps.json").write_text(json.dumps({"stage.py": ["stage.py", "input.txt", "other.txt"]}))
    env = {
        **os.environ,
        "HW2_AUDIT_PYTHON": sys.executable,
        "HW2_AUDIT_DEPS": str(tmp_path / "deps.json"),
        "HW2_AUDIT_LOG": str(tmp_path / "audit.log"),
    }
    subprocess.run([str(GUARD / "python"), "stage.py"], cwd=tmp_path, env=env, check=True, timeout=60)
    (entry,) = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert entry == {
        "cmd": "stage.py",
        "rc": 0,
        "deps": ["stage.py", "input.txt", "other.txt"],
        "changed": ["input.txt"],
    }


# --- the encoder's weights: named by the param, one file, checked -----------------------------


def test_the_random_encoder_is_one_file_of_the_same_bytes_every_time(tmp_path):
    weights.save_encoder_weights(None, tmp_path / "a.pth")
    weights.save_encoder_weights(None, tmp_path / "b.pth")
    assert (tmp_path / "a.pth").read_bytes() == (tmp_path / "b.pth").read_bytes()
    from_file = build_encoder(tmp_path / "a.pth", label="random")
    assert from_file.weights == "random"
    for a, b in zip(from_file.net.state_dict().values(), build_encoder("none").net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_users_state_dict_is_kept_byte_for_byte_and_anything_else_refused(tmp_path):
    torch.manual_seed(3)
    torch.save(resnet18().state_dict(), tmp_path / "mine.pth")
    weights.save_encoder_weights(tmp_path / "mine.pth", tmp_path / "encoder.pth")
    assert (tmp_path / "encoder.pth").read_bytes() == (tmp_path / "mine.pth").read_bytes()
    torch.save({"conv.weight": torch.zeros(3, 3)}, tmp_path / "other.pth")
    with pytest.raises(InputError, match=r"other.pth: not a ResNet-18 state dict"):
        weights.save_encoder_weights(tmp_path / "other.pth", tmp_path / "out.pth")
    with pytest.raises(InputError, match=r"nope.pth: encoder weights file not found"):
        weights.save_encoder_weights(tmp_path / "nope.pth", tmp_path / "out.pth")
    assert not (tmp_path / "out.pth").exists()


def test_a_file_named_as_the_imagenet_weights_that_is_not_them_is_refused(tmp_path):
    torch.manual_seed(3)
    torch.save(resnet18().state_dict(), tmp_path / "resnet18-f37072fd.pth")
    with pytest.raises(InputError) as refused:
        weights.check_imagenet_file(tmp_path / "resnet18-f37072fd.pth")
    assert "not torchvision's ImageNet weights for ResNet-18 (its SHA-256 does not start with f37072fd" in str(
        refused.value
    )
    assert weights.IMAGENET_URL in str(refused.value)


@contextmanager
def serving(folder: Path):
    """An HTTP server on the loopback address serving ``folder``: the URL of its root."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_imagenet_download_is_checked_and_leaves_nothing_when_it_fails(monkeypatch, tmp_path):
    """Over real HTTP (a loopback server standing in for download.pytorch.org, the URL patched): a
    file whose hash is the expected one is written as served; another is refused; a refused
    connection is one line naming the URL. Nothing is left behind by a failure."""
    served = tmp_path / "served"
    served.mkdir()
    torch.manual_seed(5)
    torch.save(resnet18().state_dict(), served / "resnet18-f37072fd.pth")
    with serving(served) as url:
        monkeypatch.setattr(weights, "IMAGENET_URL", url + "resnet18-f37072fd.pth")
        with pytest.raises(InputError, match="the download is not torchvision's ImageNet weights"):
            weights.download_imagenet(tmp_path / "out" / "encoder.pth")
        assert not any((tmp_path / "out").iterdir())
        monkeypatch.setattr(weights, "IMAGENET_SHA256_PREFIX", file_sha256(served / "resnet18-f37072fd.pth")[:8])
        weights.download_imagenet(tmp_path / "out" / "encoder.pth")
        assert (tmp_path / "out" / "encoder.pth").read_bytes() == (served / "resnet18-f37072fd.pth").read_bytes()
    monkeypatch.setattr(weights, "IMAGENET_URL", "http://127.0.0.1:9/resnet18-f37072fd.pth")  # nothing listens
    with pytest.raises(InputError) as failed:
        weights.download_imagenet(tmp_path / "none" / "encoder.pth")
    assert str(failed.value).startswith("http://127.0.0.1:9/resnet18-f37072fd.pth: cannot be downloaded (URLError")
    assert "\n" not in str(failed.value) and not any((tmp_path / "none").iterdir())


def test_make_weights_takes_the_hub_cache_file_only_when_asked_checks_it_and_tracks_it(monkeypatch, tmp_path):
    """tools/weights.py (`make weights`): the hub cache's file, checked, copied into data/weights/ and
    `dvc add`-ed; a file there that is not the right one is refused and nothing is copied."""
    import weights as tool

    repo = copy_repo(tmp_path / "repo")
    git_init(repo)
    hub = tmp_path / "torch_home"
    cached = hub / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.manual_seed(5)
    torch.save(resnet18().state_dict(), cached)
    monkeypatch.setenv("TORCH_HOME", str(hub))
    target = repo / "data/weights/resnet18-f37072fd.pth"
    assert tool.main([], root=repo) == 1  # not torchvision's file (its hash)
    assert not target.exists()
    monkeypatch.setattr(weights, "IMAGENET_SHA256_PREFIX", file_sha256(cached)[:8])
    assert tool.main([], root=repo) == 0
    assert target.read_bytes() == cached.read_bytes()
    assert (repo / "data/weights/resnet18-f37072fd.pth.dvc").is_file()  # tracked by DVC
    ignored = subprocess.run(["git", "check-ignore", "-q", str(target)], cwd=repo)
    assert ignored.returncode == 0  # and out of git
    assert tool.main([], root=repo) == 0  # already there: checked, left as it is


def test_the_old_choices_that_let_the_machine_decide_are_refused_naming_the_new_ones(tmp_path):
    import yaml
    from conftest import ROOT

    from pipeline import params as _params

    for old in ("auto", "IMAGENET1K_V1"):
        doc = yaml.safe_load((ROOT / "params.yaml").read_text())
        doc["captioning"]["encoder"]["weights"] = old
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(doc))
        with pytest.raises(_params.ParamsError) as refused:
            _params.load(tmp_path / "params.yaml")
        assert str(refused.value) == (
            f"params.yaml: captioning.encoder.weights must be none, imagenet or a .pth file in data/weights/, not "
            f"'{old}' (no longer a choice: the weights are named, never found on the machine)"
        )


# --- what else a machine could decide ----------------------------------------------------------


@needs_fmnist
def test_fashion_mnist_from_any_source_is_the_same_npz(tmp_path):
    """`fashion_mnist.source: auto` takes the first of three sources a machine has: each file is
    verified by the SHA-256 of its decompressed bytes, so Debian's files, a local copy compressed
    otherwise and a download (over loopback HTTP) give one byte-identical .npz."""
    from hw2.fashion.data import FILES, load_fashion_mnist, save_splits

    local = tmp_path / "local"
    local.mkdir()
    for stem in FILES:
        raw = gzip.decompress((SYSTEM_FMNIST / f"{stem}.gz").read_bytes())
        (local / f"{stem}.gz").write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    first = next(iter(FILES))
    assert (local / f"{first}.gz").read_bytes() != (SYSTEM_FMNIST / f"{first}.gz").read_bytes()
    outs = []
    with serving(SYSTEM_FMNIST) as url:
        for source, folder, system in (
            ("system", tmp_path / "empty", SYSTEM_FMNIST),
            ("auto", local, tmp_path / "empty"),
            ("download", tmp_path / "empty", tmp_path / "empty"),
        ):
            outs.append(tmp_path / f"{source}.npz")
            save_splits(outs[-1], load_fashion_mnist(source, folder, url=url, system_dir=system), 10_000, 42)
    assert outs[0].read_bytes() == outs[1].read_bytes() == outs[2].read_bytes()


@needs_wide_font
def test_latin_captions_draw_the_same_bytes_with_or_without_the_wide_fonts(monkeypatch, tmp_path):
    """Captions in Latin letters (every committed caption) are drawn by the default font whether or
    not a CJK font is installed (make repro installs one where apt works): the same figure bytes."""
    import hw2.captioning.figures as figures

    image = tmp_path / "1.tif"
    Image.new("RGB", (64, 64), (90, 120, 60)).save(image)
    tokens = ["a", "green", "field", "beside", "two", "white", "buildings", "<end>"]
    alphas = np.random.default_rng(0).dirichlet(np.ones(49), len(tokens))
    installed = figures.caption_fonts()
    assert len(installed) > 1  # the default font and at least one wide one

    def draw(name: str) -> bytes:
        figures.captioned_image(tmp_path / f"{name}.png", image, tokens, alphas, "1.tif: attention decoder, beam 5")
        figures.caption_sheet(tmp_path / f"{name}-sheet.png", [(image, "1.tif", " ".join(tokens[:-1]))], "captions")
        return (tmp_path / f"{name}.png").read_bytes() + (tmp_path / f"{name}-sheet.png").read_bytes()

    with_wide = draw("with")
    monkeypatch.setattr(figures, "_fonts", lambda: (installed[:1], figures._charmap(None)))
    assert figures.caption_fonts() == installed[:1]
    assert draw("without") == with_wide


def test_no_stage_reads_the_time_the_locale_or_the_hub_cache():
    """What the stages' code could read of the machine, listed: the environment variables are the
    ones named here (each changes no byte: tests/test_pipeline.py runs the smoke pipeline with them
    set otherwise), no stage formats a date or the time, looks up the locale, or asks torch for its
    hub; the CPU's own model and flags decide only the kernel path, which the metrics record."""
    import re

    from conftest import ROOT

    code = {p: p.read_text() for d in ("src", "stages") for p in (ROOT / d).rglob("*.py")}
    found = {
        str(p.relative_to(ROOT)): sorted(set(re.findall(r"os\.environ(?:\.get)?\(?\[?\"(\w+)\"", text)))
        for p, text in code.items()
    }
    assert {k: v for k, v in found.items() if v} == {
        "src/hw2/common/runtime.py": ["OMP_NUM_THREADS"],  # how many processes run side by side, not their numbers
        "stages/_stage.py": ["DVC_ROOT"],  # the repository a queued experiment came from: where to find inputs
    }
    for p, text in code.items():
        for banned in ("datetime", "time.strftime", "time.localtime", "import locale", "torch.hub", "getpass"):
            if banned in text and not (p.name == "weights.py" and banned == "torch.hub"):  # tools/weights.py's
                raise AssertionError(f"{p.relative_to(ROOT)} uses {banned}")
    assert shutil.which("git")  # the report names the commit: the same commit, the same line
