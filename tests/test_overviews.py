"""The mask's overviews are made by halving, as GDAL's masked average makes them, but cheaply."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.shutil

from cracks.inspect.bands import create_bands, probability_vrt, write_band, write_overviews
from cracks.inspect.segment import _copy_cog
from tests.rasters import write_geotiff
from tiling.overviews import halve, level_sizes
from tiling.raster import open_raster


def masked_mean(probability: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The definition, in float64: each 2 x 2 block's valid pixels averaged, rounded half up."""
    h, w = probability.shape
    p, v = np.zeros((h + h % 2, w + w % 2)), np.zeros((h + h % 2, w + w % 2))
    p[:h, :w], v[:h, :w] = probability * valid, valid
    total = p.reshape(len(p) // 2, 2, -1, 2).sum((1, 3))
    count = v.reshape(len(v) // 2, 2, -1, 2).sum((1, 3))
    mean = np.where(count > 0, np.floor(total / np.maximum(count, 1) + 0.5), 0)
    return mean.astype(np.uint8), np.where(count > 0, 255, 0).astype(np.uint8)


@pytest.mark.parametrize("shape", [(64, 96), (7, 9), (1, 1), (513, 1001)])
def test_halving_is_the_masked_mean_of_each_block(shape):
    rng = np.random.default_rng(shape[1])
    probability = rng.integers(0, 256, shape, dtype=np.uint8)
    valid = rng.random(shape) < 0.6
    valid[: shape[0] // 2] = True  # whole blocks and a ragged edge, with one to four valid pixels
    probability[~valid] = 0  # as the stitcher leaves them
    mean, validity = halve(probability, valid.astype(np.uint8) * 255)
    expected_mean, expected_validity = masked_mean(probability, valid)
    np.testing.assert_array_equal(mean, expected_mean)
    np.testing.assert_array_equal(validity, expected_validity)
    everywhere, none = halve(probability, None)  # no mask: every pixel valid, an odd side's last block too
    assert none is None
    np.testing.assert_array_equal(everywhere, masked_mean(probability, np.ones(shape, bool))[0])


def test_levels_halve_until_one_block_holds_the_raster():
    assert level_sizes(10000, 10000, 512) == [(5000, 5000), (2500, 2500), (1250, 1250), (625, 625), (313, 313)]
    assert level_sizes(1025, 300, 512) == [(513, 150), (257, 75)]
    assert level_sizes(512, 512, 512) == []


def test_cog_overviews_are_gdals_masked_average(tmp_path, caplog):
    """The COG made from these overviews has the full-resolution pixels and mask, and at every
    level of even size the very overviews GDAL's own ``average`` over the mask would have made."""
    height, width = 2048, 1536
    rng = np.random.default_rng(3)
    info = open_raster(write_geotiff(tmp_path / "site.tif", np.zeros((height, width, 3), np.uint8),
                                     nodata_box=np.s_[:1, :1]))
    assert info.masked
    work = tmp_path / "work"
    work.mkdir()
    create_bands(info, work, "key")
    probability = rng.integers(0, 256, (height, width), dtype=np.uint8)
    valid = np.ones((height, width), bool)
    for y in range(height):  # a ragged nodata collar on the left, as drone orthophotos have
        valid[y, : 100 + int(40 * np.sin(y / 37)) + rng.integers(0, 9)] = False
    probability[~valid] = 0
    for y0 in range(0, height, 700):
        write_band(work, y0, probability[y0 : y0 + 700], valid[y0 : y0 + 700])
    names = write_overviews(work)
    assert len(names) == len(level_sizes(width, height, 512)) == 2
    _copy_cog(probability_vrt(info, work, "key", names), tmp_path / "ours.tif")
    assert "lacks overviews" not in caplog.text  # GDAL found the mask's overviews too
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        rasterio.shutil.copy(probability_vrt(info, work, "key"), tmp_path / "gdal.tif", driver="COG",
                             compress="DEFLATE", blocksize=512, overview_resampling="average")
    with rasterio.open(tmp_path / "ours.tif") as ours, rasterio.open(tmp_path / "gdal.tif") as gdal:
        assert ours.overviews(1) == gdal.overviews(1) == [2, 4]
        np.testing.assert_array_equal(ours.read(1), probability)
        np.testing.assert_array_equal(ours.read_masks(1) > 0, valid)
        assert ours.tags() == gdal.tags() and ours.profile == gdal.profile
    for level in range(2):
        with rasterio.open(tmp_path / "ours.tif", overview_level=level) as ours, \
                rasterio.open(tmp_path / "gdal.tif", overview_level=level) as gdal:
            np.testing.assert_array_equal(ours.read(1), gdal.read(1))
            np.testing.assert_array_equal(ours.read_masks(1), gdal.read_masks(1))


def test_a_raster_without_nodata_gets_a_cog_without_a_mask_and_gdals_overviews(tmp_path, caplog):
    """Every pixel of an orthophoto without nodata is valid: its bands hold no validity band and
    its COG no mask (GDAL reads it as all valid), with the overviews GDAL's ``average`` makes."""
    height, width = 1024, 1536
    probability = np.random.default_rng(5).integers(0, 256, (height, width), dtype=np.uint8)
    info = open_raster(write_geotiff(tmp_path / "site.tif", np.zeros((height, width, 3), np.uint8)))
    assert not info.masked
    work = tmp_path / "work"
    work.mkdir()
    create_bands(info, work, "key")
    for y0 in range(0, height, 700):
        write_band(work, y0, probability[y0 : y0 + 700], np.ones((min(700, height - y0), width), bool))
    with rasterio.open(work / "bands.tif") as bands:
        assert bands.count == 1
    names = write_overviews(work)
    _copy_cog(probability_vrt(info, work, "key", names), tmp_path / "ours.tif")
    rasterio.shutil.copy(probability_vrt(info, work, "key"), tmp_path / "gdal.tif", driver="COG",
                         compress="DEFLATE", blocksize=512, overview_resampling="average")
    assert "lacks overviews" not in caplog.text
    with rasterio.open(tmp_path / "ours.tif") as ours, rasterio.open(tmp_path / "gdal.tif") as gdal:
        assert ours.mask_flag_enums == ([rasterio.enums.MaskFlags.all_valid],)
        assert ours.overviews(1) == gdal.overviews(1) == [2, 4]
        np.testing.assert_array_equal(ours.read(1), probability)
        assert ours.profile == gdal.profile
    for level in range(2):
        with rasterio.open(tmp_path / "ours.tif", overview_level=level) as ours, \
                rasterio.open(tmp_path / "gdal.tif", overview_level=level) as gdal:
            np.testing.assert_array_equal(ours.read(1), gdal.read(1))
