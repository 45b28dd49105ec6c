"""meddl.data: read medical data, check it, split it and preprocess it.

Readers: tables (:func:`read_table`), built-in datasets (:func:`load_builtin`),
MedMNIST (:func:`load_medmnist`), image folders, DICOM, NIfTI, DeepSurv HDF5
and IHDP CSV files. Then :func:`train_val_test_split` / :func:`kfold_splits`
(stratified, patient-grouped), :class:`TabularPreprocessor` and :class:`ImagePreprocessor`,
and the one image augmentation system (:class:`ImageAugmenter`).

Optional packages (pydicom, nibabel, pillow, MONAI, h5py, pyarrow,
scikit-survival) are imported only by the functions that need them.
"""

from meddl.errors import MissingDependencyError
from meddl.data.builtin import BUILTIN_DATASETS, BuiltinDataset, builtin_key, load_builtin
from meddl.data.checks import check_labels
from meddl.data.classes import (
    RARE_CLASS_ROWS,
    apply_label_map,
    check_label_spellings,
    choose_positive_class,
    is_negation,
)
from meddl.data.dicom import read_dicom_dataset, read_dicom_image
from meddl.data.identifiers import check_no_identifier_features, find_identifier_columns
from meddl.data.image_files import IMAGE_FILE_KINDS, image_file_kind, list_image_files, read_image_files
from meddl.data.directory_dataset import image_dataset_from_directory
from meddl.data.image_folder import read_image_folder
from meddl.data.timeseries_windows import timeseries_dataset_from_array
from meddl.data.augmentation import (
    AugmentationPolicy,
    ImageAugmenter,
    augment_images,
    augmentation_examples_png,
    augmentation_section,
    resolve_policy,
)
from meddl.data.image_preprocessing import ImagePreprocessor, resize_images
from meddl.data.images import ImageDataset, ImageFiles
from meddl.data.medmnist import (
    load_medmnist,
    load_medmnist_npz,
    medmnist_data_dir,
    medmnist_info,
    resolve_medmnist,
)
from meddl.data.nifti import read_nifti, read_nifti_dataset
from meddl.data.preprocessing import TabularPreprocessor
from meddl.data.splits import (
    CrossValidationFolds,
    SplitIndices,
    kfold_splits,
    split_assignments,
    split_fingerprint,
    train_val_test_split,
)
from meddl.data.survival_files import (
    SurvivalArrays,
    read_deepsurv_h5,
    read_ihdp_csv,
    validate_survival_target,
)
from meddl.data.tables import read_table

__all__ = [
    "AugmentationPolicy",
    "ImageAugmenter",
    "augment_images",
    "ImagePreprocessor",
    "augmentation_examples_png",
    "augmentation_section",
    "resize_images",
    "resolve_policy",
    "BUILTIN_DATASETS",
    "IMAGE_FILE_KINDS",
    "RARE_CLASS_ROWS",
    "BuiltinDataset",
    "CrossValidationFolds",
    "ImageDataset",
    "ImageFiles",
    "MissingDependencyError",
    "SplitIndices",
    "SurvivalArrays",
    "TabularPreprocessor",
    "apply_label_map",
    "builtin_key",
    "check_label_spellings",
    "check_labels",
    "check_no_identifier_features",
    "choose_positive_class",
    "find_identifier_columns",
    "image_file_kind",
    "is_negation",
    "kfold_splits",
    "list_image_files",
    "load_builtin",
    "load_medmnist",
    "load_medmnist_npz",
    "medmnist_data_dir",
    "medmnist_info",
    "read_deepsurv_h5",
    "read_dicom_dataset",
    "read_dicom_image",
    "read_ihdp_csv",
    "read_image_files",
    "read_image_folder",
    "image_dataset_from_directory",
    "timeseries_dataset_from_array",
    "read_nifti",
    "read_nifti_dataset",
    "read_table",
    "resolve_medmnist",
    "split_assignments",
    "split_fingerprint",
    "train_val_test_split",
    "validate_survival_target",
]
