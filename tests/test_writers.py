"""Writers under hostile conditions: killed mid-write (their temporaries are removed by the next
writer), and a full disk (one line naming the folder and the room needed, nothing half-written,
no crash). The full-disk cases use a real small filesystem (a tmpfs mounted for the test; skipped
where this machine does not allow mounting)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from hw2.captioning.features import build_encoder, extract_features
from hw2.captioning.synthetic import generate
from hw2.captioning.unzip import extract_images
from hw2.common.atomic import atomic_path, write_text
from hw2.common.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def test_a_killed_writers_temporary_is_removed_by_the_next_writer(tmp_path):
    target = tmp_path / "features.h5"
    writer = textwrap.dedent(f"""
        import time
        from hw2.common.atomic import atomic_path
        with atomic_path({str(target)!r}, suffix=".h5") as tmp:
            tmp.write_bytes(b"half")
            print(tmp, flush=True)
            time.sleep(60)
    """)
    killed = []
    for _ in range(2):  # each kill used to leave one more
        proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        killed.append(Path(proc.stdout.readline().strip()))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not killed[0].exists()  # the second writer removed the first one's when it started
    assert killed[1].exists() and not target.exists()
    live = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert live.stdout is not None
    try:
        busy = Path(live.stdout.readline().strip())  # another writer at work: its file stays
        with atomic_path(target, suffix=".h5") as tmp:
            tmp.write_bytes(b"whole")
        assert target.read_bytes() == b"whole"
        assert not any(p.exists() for p in killed) and busy.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([busy.name, "features.h5"])
    finally:
        live.kill()
        live.wait()
    write_text(target, "again")  # and a later writer removes that one too once its process is gone
    assert [p.name for p in tmp_path.iterdir()] == ["features.h5"]


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB filesystem of its own (tmpfs), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small filesystem here ({done.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("set")
    generate(root, n=30, seed=0, test_images=("2.tif",))
    names = [f"{k}.tif" for k in range(1, 31)]
    extract_images(root / "images.zip", root / "images", names)
    return root, names


def test_features_that_do_not_fit_are_refused_before_writing(small_disk, images):
    root, names = images  # 30 images x 49 regions x 512 float32 = 3.0 MB, on a 3 MB disk
    with pytest.raises(InputError) as refused:
        extract_features(
            root / "images",
            names,
            ["train"] * 30,
            small_disk / "features" / "features.h5",
            build_encoder("none"),
            image_size=224,
            batch_size=8,
            dtype="float32",
            progress=False,
        )
    assert str(refused.value).startswith(f"{small_disk / 'features'}: the features of 30 images need about 3.")
    assert "MB, and its disk has 3.0 MB free; free some space and run again" in str(refused.value)
    assert list(small_disk.rglob("*")) == []  # nothing written


def test_images_that_do_not_fit_are_refused_before_unpacking(small_disk, images):
    root, names = images
    big = root / "big.zip"
    import zipfile

    with zipfile.ZipFile(big, "w") as zf:  # four incompressible 1 MB images: 4 MB on a 3 MB disk
        for k in range(4):
            image = Image.frombytes("RGB", (512, 683), os.urandom(512 * 683 * 3))
            image.save(root / f"noise{k}.png")
            zf.write(root / f"noise{k}.png", f"noise{k}.png")
    with pytest.raises(
        InputError,
        match=r": the 4 captioned images of big.zip need about 5.\d MB, and its disk "
        r"has 3.0 MB free",
    ):
        extract_images(big, small_disk / "images", [f"noise{k}.png" for k in range(4)])
    assert list(small_disk.iterdir()) == []


def test_a_disk_that_fills_while_a_stage_writes_is_one_line_and_no_crash(small_disk, tmp_path):
    """Another process took the room after the check: HDF5's failed write (which crashed Python
    with SIGSEGV at exit) becomes one line, exit 1, and no temporary is left."""
    script = tmp_path / "stages" / "fill.py"
    script.parent.mkdir()
    (script.parent / "_stage.py").write_text((ROOT / "stages" / "_stage.py").read_text())
    for name in ("params.yaml", "paths.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    script.write_text(
        textwrap.dedent(f"""
        import h5py, numpy as np
        from _stage import stage
        from hw2.common.atomic import atomic_path

        @stage
        def main(params):
            with atomic_path({str(small_disk / "f.h5")!r}, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
                rows = h5.create_dataset("features", shape=(100, 49, 512), dtype="float16", chunks=(1, 49, 512))
                for i in range(100):
                    rows[i] = np.ones((49, 512), np.float16)

        main()
    """)
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr.strip().splitlines() == ["error: no space left on the device; free some space and run again"]
    assert list(small_disk.iterdir()) == []
