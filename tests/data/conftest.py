"""Small generated files for the meddl.data tests (nothing here reads the shared benchmark data)."""

from __future__ import annotations

import numpy as np
import pytest


def write_dicom(path, pixels, *, photometric="MONOCHROME2", slope=None, intercept=None, window=None):
    """Write a minimal single-frame grayscale DICOM file with pydicom and return its path."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    pixels = np.asarray(pixels)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    ds.PixelData = pixels.astype(np.int16 if ds.PixelRepresentation else np.uint16).tobytes()
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.save_as(path, enforce_file_format=True)
    return path


def write_png(path, array):
    """Write an array as an image with PIL (mode inferred from dtype/shape)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array)).save(path)
    return path


@pytest.fixture
def dicom_writer():
    """``write_dicom(path, pixels, photometric=..., slope=..., intercept=..., window=...)``."""
    return write_dicom


@pytest.fixture
def png_writer():
    """``write_png(path, array)``: creates parent folders."""
    return write_png
