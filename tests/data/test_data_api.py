import json
import subprocess
import sys
from pathlib import Path

import meddl.data

EXPECTED = {
    "BUILTIN_DATASETS", "BuiltinDataset", "CrossValidationFolds", "ImageDataset", "MissingDependencyError",
    "SplitIndices", "SurvivalArrays", "TabularPreprocessor", "check_labels", "kfold_splits", "load_builtin",
    "load_medmnist", "load_medmnist_npz", "medmnist_data_dir", "medmnist_info", "read_deepsurv_h5",
    "read_dicom_dataset", "read_dicom_image", "read_ihdp_csv", "read_image_folder", "read_nifti",
    "read_nifti_dataset", "read_table", "resolve_medmnist", "split_assignments", "split_fingerprint",
    "train_val_test_split", "validate_survival_target", "AugmentationPolicy", "ImageAugmenter", "augment_images", "ImagePreprocessor",
    "augmentation_examples_png", "augmentation_section", "resize_images", "resolve_policy",
    # issue 13: one image-reading path, label spellings, the positive class, identifier columns
    "IMAGE_FILE_KINDS", "ImageFiles", "image_file_kind", "list_image_files", "read_image_files",
    "RARE_CLASS_ROWS", "apply_label_map", "check_label_spellings", "choose_positive_class", "is_negation",
    "check_no_identifier_features", "find_identifier_columns",
    # Keras's image_dataset_from_directory: a lazily read folder as a DataLoader for fit
    "image_dataset_from_directory", "timeseries_dataset_from_array",
    # a config's built-in dataset name is checked at load
    "builtin_key",
}
OPTIONAL = ["monai", "pydicom", "nibabel", "PIL", "sksurv", "h5py"]


def test_public_names_are_listed_exported_and_documented():
    assert set(meddl.data.__all__) == EXPECTED
    for name in meddl.data.__all__:
        obj = getattr(meddl.data, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"


def test_importing_meddl_data_loads_no_optional_package():
    # Compare with `import meddl` alone, so only what meddl.data adds is measured.
    code = (
        "import json, sys; import meddl; before = set(sys.modules); import meddl.data; "
        f"print(json.dumps([m for m in {OPTIONAL!r} if m in sys.modules and m not in before]))"
    )
    src = str(Path(meddl.data.__file__).resolve().parents[2])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
