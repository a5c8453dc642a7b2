"""Write a small 3D image as a DICOM series (one file per slice), as a scanner would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk


def write_dicom_series(image: sitk.Image, folder: Path, modality: str = "CT",
                       series: str = "1.2.826.0.1.3680043.2.1125.2", description: str = "",
                       prefix: str = "slice") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    image = sitk.Cast(image, sitk.sitkInt16)
    direction = image.GetDirection()
    orientation = "\\".join(f"{v:.6f}" for v in (direction[0], direction[3], direction[6],
                                                  direction[1], direction[4], direction[7]))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    study = "1.2.826.0.1.3680043.2.1125.1"
    for k in range(image.GetDepth()):
        slice_ = image[:, :, k]
        position = image.TransformIndexToPhysicalPoint((0, 0, k))
        tags = {
            "0008|0016": "1.2.840.10008.5.1.4.1.1.2",
            "0008|0018": f"{series}.{k + 1}",
            "0008|0060": modality,
            "0010|0010": "Phantom^Test",
            "0010|0020": "PHANTOM1",
            "0020|000d": study,
            "0020|000e": series,
            "0020|0013": str(k + 1),
            "0020|0032": "\\".join(f"{v:.6f}" for v in position),
            "0020|0037": orientation,
            "0028|0030": f"{image.GetSpacing()[1]:.6f}\\{image.GetSpacing()[0]:.6f}",
            "0018|0050": f"{image.GetSpacing()[2]:.6f}",
            "0028|1052": "0",
            "0028|1053": "1",
        }
        if description:
            tags["0008|103e"] = description
        for key, value in tags.items():
            slice_.SetMetaData(key, value)
        writer.SetFileName(str(folder / f"{prefix}{k:03d}.dcm"))
        writer.Execute(slice_)


def arrays_equal_on_same_grid(a: sitk.Image, b: sitk.Image, atol: float = 1e-3) -> bool:
    same_grid = (a.GetSize() == b.GetSize()
                 and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=atol)
                 and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=atol)
                 and np.allclose(a.GetDirection(), b.GetDirection(), atol=atol))
    return same_grid and np.array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b))


def write_ct_series_with_pydicom(image: sitk.Image, folder: Path, *, seed: int = 0,
                                 description: str = "") -> dict[str, int]:
    """A CT series as a scanner writes it (CT Image Storage, one file per slice, every module a
    DICOM SEG needs from its source), under random file names written in shuffled order, so
    that nothing downstream can rely on file order or names. Returns each file's
    SOPInstanceUID -> the slice index k of ``image`` it holds."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = sitk.GetArrayFromImage(sitk.Cast(image, sitk.sitkInt16))
    direction = np.reshape(image.GetDirection(), (3, 3))
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    truth = {}
    for k in rng.permutation(image.GetDepth()):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = uid = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = CTImageStorage, uid, "CT"
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = \
            "Phantom^Test", "PHANTOM1", "", "O"
        ds.StudyInstanceUID, ds.StudyID, ds.AccessionNumber = study, "1", ""
        ds.StudyDate, ds.StudyTime, ds.ReferringPhysicianName = "20260101", "120000", ""
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = series, 3, int(k) + 1
        ds.SeriesDescription = description
        ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame, ""
        ds.Manufacturer, ds.KVP = "Synthetic", "120"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in
                                   image.TransformIndexToPhysicalPoint((0, 0, int(k)))]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in
                                      (*direction[:, 0], *direction[:, 1])]
        ds.PixelSpacing = [f"{image.GetSpacing()[1]:.6f}", f"{image.GetSpacing()[0]:.6f}"]
        ds.SliceThickness = f"{image.GetSpacing()[2]:.6f}"
        ds.Rows, ds.Columns = pixels.shape[1], pixels.shape[2]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
        ds.PixelData = np.ascontiguousarray(pixels[k]).tobytes()
        ds.save_as(folder / f"{rng.integers(16 ** 8):08x}.dcm", enforce_file_format=True)
        truth[uid] = int(k)
    return truth
