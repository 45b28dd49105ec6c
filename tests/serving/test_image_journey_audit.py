"""An uploaded image is read as ``meddl predict`` reads the same file (the 2026-12-02 image journey audit).

The server had a decoder of its own: it ignored the run's DICOM window, clipped 16-bit PNGs to 8 bits
(a 16-bit image of values 30,000-47,000 arrived as one flat 255), ignored EXIF rotation and turned a colour
photo into grey by another formula than training. Each case below sends a file and compares with the run.
"""

import numpy as np
import pytest
from PIL import Image

import meddl
from tests.runs.conftest import write_png_folder
from tests.runs.test_image_journey_audit import QUICK, ct_folder
from tests.serving.conftest import serve


def _sixteen_bit_folder(root):
    rng = np.random.default_rng(0)
    for label, level in (("normal", 2_000), ("lesion", 40_000)):
        (root / label).mkdir(parents=True)
        for i in range(8):
            pixels = np.clip(rng.normal(level, 3_000, (12, 12)), 0, 65_535).astype(np.uint16)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def image_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("image-journey")
    train = {"training": QUICK, "evaluation": {"n_resamples": 20}}
    ct = ct_folder(root / "ct")
    runs = {"ct": {"task": "diagnosis", "data": {"source": "dicom", "path": str(ct), "window": [40, 400],
                                                  "labels_csv": str(ct / "labels.csv")}, **train},
            "px16": {"task": "diagnosis", "data": {"source": "image_folder",
                                                   "path": str(_sixteen_bit_folder(root / "px16"))}, **train},
            "grey": {"task": "diagnosis", "data": {"source": "image_folder",
                                                   "path": str(write_png_folder(root / "grey", n_per_class=8))},
                     **train}}
    folders = {name: root / f"run-{name}" for name in runs}
    for name, config in runs.items():
        meddl.train(config, out=folders[name])
    served = serve(folders, f"sqlite:///{root / 'serve.db'}", rate_limit_per_minute=0)
    return served, root


def _exif_rotated_jpeg(path):
    pixels = np.zeros((16, 16), dtype=np.uint8)
    pixels[2:8, :] = 230  # a bright band at the top: on its side once the EXIF orientation is applied
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return path


def _colour_photo(path):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), "RGB").save(path)
    return path


@pytest.mark.parametrize("model, upload", [
    ("ct", lambda root: root / "ct" / "malignant_0.dcm"),
    ("ct", lambda root: root / "ct" / "benign_1.dcm"),
    ("px16", lambda root: root / "px16" / "lesion" / "0.png"),
    ("px16", lambda root: root / "px16" / "normal" / "1.png"),
    ("grey", lambda root: _exif_rotated_jpeg(root / "rotated.jpg")),
    ("grey", lambda root: _colour_photo(root / "photo.png")),
])
def test_an_upload_is_predicted_as_meddl_predict_predicts_the_file(image_runs, model, upload):
    served, root = image_runs
    path = upload(root)
    run = meddl.load_run(root / f"run-{model}")
    expected = run.predict([str(path)])
    answer = served.client.post(f"/v1/models/{model}/predict", headers=served.headers(),
                                files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert answer.status_code == 200, answer.text
    row = answer.json()
    for column in (c for c in expected.columns if c.startswith("prob_")):
        assert row[column] == pytest.approx(float(expected[column][0]), abs=1e-6), column
    assert row["predicted"] == expected["predicted"][0]
