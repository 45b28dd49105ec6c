"""Keras's image_dataset_from_directory: a folder of PNG/JPEG images as a DataLoader that fit reads batch by batch."""

import numpy as np
import pytest
from PIL import Image

import meddl
from meddl import layers
from meddl.errors import ConfigError, DataError


@pytest.fixture
def xray_folder(tmp_path):
    """normal/ (dark images) and pneumonia/ (bright ones), of two sizes, one file hidden, one not an image."""
    rng = np.random.default_rng(0)
    for name, level in (("normal", 60), ("pneumonia", 190)):
        (tmp_path / "xrays" / name / "batch2").mkdir(parents=True)
        for index in range(10):
            size = (20, 24) if index % 2 else (16, 16)
            pixels = np.clip(rng.normal(level, 20, size), 0, 255).astype(np.uint8)
            folder = tmp_path / "xrays" / name / ("batch2" if index >= 7 else "")
            Image.fromarray(pixels).save(folder / f"{name}_{index:02d}.png")
        (tmp_path / "xrays" / name / "notes.txt").write_text("not an image")
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "xrays" / name / ".hidden.png")
    return tmp_path / "xrays"


def test_the_folder_becomes_batches_of_float_images_with_inferred_labels(xray_folder):
    loader = meddl.utils.image_dataset_from_directory(xray_folder, image_size=(16, 16), color_mode="grayscale",
                                                      batch_size=8, shuffle=False)
    assert loader.class_names == ["normal", "pneumonia"] and len(loader.file_paths) == 20
    images, labels = next(iter(loader))
    assert images.shape == (8, 16, 16, 1) and images.dtype.is_floating_point and float(images.max()) > 1
    assert labels.tolist() == [0] * 8
    all_labels = np.concatenate([batch[1].numpy() for batch in loader])
    assert all_labels.tolist() == [0] * 10 + [1] * 10


@pytest.mark.parametrize("label_mode, shape", [("categorical", (4, 2)), ("binary", (4, 1)), (None, None)])
def test_label_modes(xray_folder, label_mode, shape):
    loader = meddl.utils.image_dataset_from_directory(xray_folder, label_mode=label_mode, image_size=8, batch_size=4,
                                                      shuffle=False)
    batch = next(iter(loader))
    if label_mode is None:
        assert batch.shape == (4, 8, 8, 3)  # images only, for predict
    else:
        assert tuple(batch[1].shape) == shape and batch[0].shape == (4, 8, 8, 3)


def test_validation_split_is_disjoint_reproducible_and_trains_a_cnn(xray_folder):
    train, val = meddl.utils.image_dataset_from_directory(
        xray_folder, image_size=(16, 16), color_mode="grayscale", batch_size=4, validation_split=0.25,
        subset="both", seed=1)
    assert len(train.file_paths) == 15 and len(val.file_paths) == 5
    assert not set(train.file_paths) & set(val.file_paths)
    again = meddl.utils.image_dataset_from_directory(xray_folder, image_size=(16, 16), color_mode="grayscale",
                                                     validation_split=0.25, subset="validation", seed=1)
    assert again.file_paths == val.file_paths
    model = meddl.Sequential([meddl.Input((16, 16, 1)), layers.Rescaling(1 / 255), layers.Conv2D(4, 3),
                              layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=meddl.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=15, verbose=0).history
    assert history["val_accuracy"][-1] == 1.0  # dark against bright
    assert model.predict(val).shape == (5, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(validation_split=0.2, subset="training"), ConfigError, "give a seed"),
    (dict(validation_split=0.2), ConfigError, "'subset' must be one of"),
    (dict(subset="training"), ConfigError, "needs a validation_split"),
    (dict(label_mode="sparse"), ConfigError, "'label_mode' parameter must be one of"),
    (dict(color_mode="rgba"), ConfigError, "no alpha channel"),
    (dict(image_size=None), ConfigError, "a batch needs one size"),
    (dict(class_names=["normal", "covid"]), DataError, "must name the subfolders"),
    (dict(labels=[0, 1]), DataError, r"one integer per image file \(20 under"),
])
def test_bad_arguments_are_named(xray_folder, kwargs, error, match):
    with pytest.raises(error, match=match):
        meddl.utils.image_dataset_from_directory(xray_folder, **kwargs)


def test_a_missing_folder_and_three_classes_for_binary(tmp_path, xray_folder):
    with pytest.raises(DataError, match="Image folder not found"):
        meddl.utils.image_dataset_from_directory(tmp_path / "nowhere")
    (xray_folder / "covid").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(xray_folder / "covid" / "a.png")
    with pytest.raises(DataError, match="label_mode='binary' needs exactly 2 classes"):
        meddl.utils.image_dataset_from_directory(xray_folder, label_mode="binary")
    ordered = meddl.utils.image_dataset_from_directory(xray_folder, class_names=["pneumonia", "normal", "covid"],
                                                       shuffle=False, image_size=8)
    labels = np.concatenate([batch[1].numpy() for batch in ordered])
    assert ordered.class_names == ["pneumonia", "normal", "covid"] and labels[0] == 2 and labels[1] == 1


def test_labels_given_per_file_in_sorted_path_order(xray_folder):
    files = sorted(str(p) for p in xray_folder.rglob("*.png") if not p.name.startswith("."))
    given = [index % 3 for index in range(len(files))]
    loader = meddl.utils.image_dataset_from_directory(xray_folder, labels=given, image_size=8, shuffle=False)
    assert loader.file_paths == files and loader.class_names == ["0", "1", "2"]
    assert np.concatenate([batch[1].numpy() for batch in loader]).tolist() == given
