"""The GPU path, run on the CPU: camera JPEGs decoded and prepared where the model runs.

No GPU is at hand in this project, so the path is exercised where it can be: torchvision's CPU JPEG
decoder through the very code that nvJPEG feeds on a CUDA device, Pillow's arithmetic reproduced on
tensors and compared with Pillow itself, fp16 against fp32, batch-size tuning, and the indexer's
fall-back when the device cannot decode a file. What a GPU would add (speed) is not measured here.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from photosim.core import device_jpeg
from photosim.core.embedder import EfficientNetLite0, Embedder, content_box, default_precision, probe_factor
from photosim.core.images import decode_photo, read_file
from tests.photos import sample_images

pytest.importorskip("torchvision", reason="the device path decodes with torchvision")

ORIENTATION = 0x0112


def _camera_jpeg(image: Image.Image, path: Path, *, orientation: int = 1, bars: bool = False) -> Path:
    """A camera-size JPEG (short side 1800 px, past the 1/8 DCT scale) made from a real photo."""
    w, h = image.size
    scale = 1800 / min(w, h)
    big = image.resize((round(w * scale), round(h * scale)), Image.Resampling.BICUBIC)
    if bars:  # letterboxed: black bars above and below
        canvas = Image.new("RGB", (big.width, big.height + 400))
        canvas.paste(big, (0, 200))
        big = canvas
    exif = Image.Exif()
    exif[0x0132] = "2024:05:06 07:08:09"
    if orientation != 1:
        exif[ORIENTATION] = orientation
        big = big.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    big.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


@pytest.fixture(scope="module")
def camera_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("camera")
    photos = sample_images(n_interior=2)
    return [
        _camera_jpeg(photos["chelsea"], folder / "chelsea.jpg"),
        _camera_jpeg(photos["coffee"], folder / "coffee-o6.jpg", orientation=6),
        _camera_jpeg(photos["astronaut"], folder / "astronaut-o8.jpg", orientation=8),
        _camera_jpeg(photos["china"], folder / "china-bars.jpg", bars=True),
        _camera_jpeg(next(v for k, v in photos.items() if k.startswith("interior_")), folder / "room.jpg"),
    ]


def test_upright_turns_like_pillows_exif_transpose() -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    for orientation in range(1, 9):
        image = Image.fromarray(pixels)
        exif = image.getexif()
        exif[ORIENTATION] = orientation
        buffer = io.BytesIO()
        image.save(buffer, "PNG", exif=exif.tobytes())
        expected = np.asarray(ImageOps.exif_transpose(Image.open(buffer)))
        got = device_jpeg.upright(torch.from_numpy(pixels).permute(2, 0, 1), orientation).permute(1, 2, 0).numpy()
        assert got.shape == expected.shape and (got == expected).all(), orientation


def test_pillows_probe_and_squash_are_reproduced_on_tensors(camera_files: list[Path]) -> None:
    """From the same draft pixels the tensor code gives Pillow's grey probe and bars exactly, and its
    squash exactly for camera-shaped (4:3) pictures; for other shapes Pillow 13 sometimes runs its
    vertical pass first, and a few pixels then differ by a level or two."""
    backbone = EfficientNetLite0()
    for path in camera_files:
        draft = decode_photo(read_file(path), backbone.decode_min_side).image  # what the CPU path decodes
        pixels = torch.from_numpy(np.asarray(draft).copy()).permute(2, 0, 1).float()
        factor = probe_factor(*draft.size)
        expected_grey = np.asarray((draft.reduce(factor) if factor > 1 else draft).convert("L"))
        grey = device_jpeg.pillow_grey(device_jpeg.pillow_reduce(pixels, factor)).to(torch.uint8).numpy()
        assert (grey == expected_grey).all(), path.name
        squashed = device_jpeg.pillow_squash(pixels, content_box(draft), backbone.input_size)
        got = squashed.to(torch.uint8).permute(1, 2, 0).numpy().astype(int)
        difference = np.abs(got - backbone.prepare(draft).astype(int))
        assert difference.max() <= 6 and difference.mean() < 0.2, (path.name, draft.size)
    rng = np.random.default_rng(0)
    for size, box in (((500, 375), (0, 0, 500, 375)), ((375, 500), (0, 0, 375, 500)), ((500, 375), (0, 40, 500, 335))):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)  # a 12 MP photo's 1/8 draft
        expected = np.asarray(Image.fromarray(pixels).resize((224, 224), Image.Resampling.BICUBIC, box=box))
        got = device_jpeg.pillow_squash(torch.from_numpy(pixels).permute(2, 0, 1).float(), box, 224)
        assert (got.to(torch.uint8).permute(1, 2, 0).numpy() == expected).all(), (size, box)


def test_headers_say_what_the_cpu_decode_says_and_send_the_rest_to_the_cpu(camera_files: list[Path],
                                                                            tmp_path: Path) -> None:
    for path in camera_files:
        read = read_file(path)
        header = device_jpeg.jpeg_header(read, 224)
        photo = decode_photo(read, 224)
        assert header is not None, path.name
        assert (header.width, header.height, header.taken_at) == (photo.width, photo.height, photo.taken_at)
    small = tmp_path / "small.jpg"
    Image.new("RGB", (1600, 1200), "gray").save(small)  # 1/4 scale on the CPU: not reproduced
    png = tmp_path / "big.png"
    Image.new("RGB", (2000, 2000), "gray").save(png)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(camera_files[0].read_bytes()[:-20000])  # truncated: Pillow, not the device, decides
    for other in (small, png, cut):
        assert device_jpeg.jpeg_header(read_file(other), 224) is None, other.name


def test_device_vectors_match_the_pillow_path(camera_files: list[Path]) -> None:
    """The GPU path's preparation, run on the CPU: vectors within cosine 0.999 of the CPU path's."""
    embedder = Embedder(device="cpu", precision="fp32", device_decode=True)
    reads = [read_file(p) for p in camera_files]
    headers = [device_jpeg.jpeg_header(r, 224) for r in reads]
    on_device = embedder.analyse_jpegs([r.data for r in reads], [h.orientation for h in headers])
    on_cpu = embedder.analyse_arrays([embedder.prepare(decode_photo(r, 224).image) for r in reads])
    cosines = (on_device.vectors * on_cpu.vectors).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip([p.name for p in camera_files], cosines.round(5), strict=True))
    assert on_device.probabilities is not None and on_cpu.probabilities is not None
    assert (on_device.probabilities.argmax(axis=1) == on_cpu.probabilities.argmax(axis=1)).all()


def test_fp16_the_gpus_precision_keeps_the_vectors() -> None:
    assert default_precision("cuda") == "fp16"
    images = list(sample_images(n_interior=0).values())[:2]
    fp32 = Embedder(device="cpu", precision="fp32").embed_images(images)
    fp16 = Embedder(device="cpu", precision="fp16").embed_images(images)  # slow on a CPU, same arithmetic
    assert ((fp16 * fp32).sum(axis=1)).min() >= 0.999


def test_batch_size_tuning_measures_and_stops_where_memory_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = Embedder(device="cpu", precision="fp32")
    assert embedder.tune_batch_size((1, 2), repeats=1) in (1, 2)
    real = embedder._run_tensor

    def short_of_memory(batch):  # noqa: ANN001, ANN202
        if len(batch) >= 4:
            raise torch.cuda.OutOfMemoryError("simulated")
        return real(batch)

    monkeypatch.setattr(embedder, "_run_tensor", short_of_memory)
    assert embedder.tune_batch_size((1, 4, 8), repeats=1) == 1


def test_the_indexer_decodes_on_the_device_and_falls_back_for_what_it_cannot(
    camera_files: list[Path], tmp_path: Path,
) -> None:
    from photosim.core.indexer import Indexer
    from photosim.core.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    for path in camera_files:
        (folder / path.name).write_bytes(path.read_bytes())
    sample_images(n_interior=0)["rocket"].save(folder / "small-rocket.jpg", quality=90)  # decoded by Pillow
    device = Embedder(device="cpu", precision="fp32", device_decode=True)
    calls: list[int] = []
    analyse = device.analyse_jpegs

    def counted(datas, orientations):  # noqa: ANN001, ANN202
        calls.append(len(datas))
        if len(calls) == 1:
            raise RuntimeError("simulated device failure")  # the batch goes to Pillow instead
        return analyse(datas, orientations)

    device.analyse_jpegs = counted  # type: ignore[method-assign]
    vectors = {}
    for name, model in (("device", device), ("cpu", Embedder(device="cpu", precision="fp32"))):
        with Library(tmp_path / f"data-{name}", embedder=model) as lib:
            lib.catalog.add_folder(folder)
            report = Indexer(lib, workers=2, batch_size=2).run()
            assert report.indexed == 6 and report.failed == 0
            vectors[name] = {lib.catalog.get(int(i)).path: v for ids, vs in lib.catalog.iter_embeddings(lib.model_id)
                             for i, v in zip(ids, vs, strict=True)}
    assert len(calls) >= 2 and sum(calls) == 5  # each camera file went to the device once, the small one never
    for path, vector in vectors["cpu"].items():
        other = vectors["device"][path]
        cosine = float(vector @ other / np.linalg.norm(vector) / np.linalg.norm(other))
        assert cosine >= 0.999, (path, cosine)
