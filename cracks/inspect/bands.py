"""The finished bands of a segmentation on disk, written as they finish and read as one raster.

One uncompressed two-band GeoTIFF in the work folder (``bands.tif``: probability 0-255, and
validity 0/255) takes each band of rows as the stitcher hands it out, and a VRT
(``probability.vrt``) presents it as what ``mask.tif`` will be: the probabilities with the
validity as their mask. Measuring reads the VRT, and the COG is a copy of it, made with the
overviews :func:`write_overviews` halves from the bands (``overview_1.tif``, ... beside it, each
presented with its mask by a VRT of its own; ``cog_source.vrt`` names them as the overviews).

An orthophoto without nodata (no mask, no nodata value, no alpha) has every pixel valid: its
bands file holds the probabilities alone, and ``mask.tif`` has no mask (GDAL reads it as all
valid). That spares writing, halving, compressing and reading again a band of 255s: the COG of
the 100 MP benchmark 0.65 -> 0.42 CPU-s (``benchmarks/cog_benchmark.py``).

Why not write the mask as GDAL's own internal 1-bit mask from the start: packing and
compressing it while writing cost 0.5 s at 100 MP, and the bands would have been kept in a second
copy for resuming (0.6 s more); here writing a band is a memory copy into the page cache.

Resuming: the file is reopened for each band, so a band is on disk before the state that counts
it is saved (:mod:`.resume`); a band cut short by a kill is written again whole on resume. Its
strips start empty (``SPARSE_OK``: nothing is written for rows not yet segmented).

Strips of 16 full rows, one band after the other, not tiles: a band of rows is then one
contiguous copy per band into the file. Writing the 100 MP benchmark's bands took 0.14 s so
against 0.33 s in 256 px tiles (2-core Xeon); measuring and the COG copy read it as fast.
"""

from __future__ import annotations

import warnings
from html import escape
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from rasterio.windows import Window

from tiling.overviews import halve, level_sizes
from tiling.raster import RasterInfo

BANDS = "bands.tif"
PROBABILITY_VRT = "probability.vrt"
COG_SOURCE_VRT = "cog_source.vrt"  # the same, with the overviews the COG copy takes over
OVERVIEW_BLOCK = 512  # the COG's block size: levels are made until one block holds the smallest
KEY_TAG = "cracks_run_key"
TAGS = {"crack_probability": "uint8 0-255 = probability 0-1; masked where the input has no data"}


def _open(path: Path, mode: str = "r", **profile):
    """Open the bands file: it is never georeferenced (the VRT is), which is not worth a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        return rasterio.open(path, mode, **profile)


def _profile(width: int, height: int, count: int) -> dict:
    return {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": "uint8",
            "tiled": False, "blockysize": 16, "interleave": "band", "sparse_ok": True, "BIGTIFF": "IF_SAFER"}


def create_bands(info: RasterInfo, work: Path, key: str) -> Path:
    """An empty bands file for ``info``, tagged with the run key (a resume checks it): the
    validity as a second band only where the orthophoto has pixels without data."""
    path = work / BANDS
    with _open(path, "w", **_profile(info.width, info.height, 2 if info.masked else 1)) as dst:
        dst.update_tags(**{KEY_TAG: key})
    return path


def write_band(work: Path, y0: int, probability: np.ndarray, valid: np.ndarray) -> None:
    """Rows ``y0..`` of the probabilities (HxW uint8) and their validity (HxW bool; not written
    to a bands file without a validity band), flushed on return."""
    window = Window(0, y0, probability.shape[1], probability.shape[0])
    with _open(work / BANDS, "r+") as dst:  # 1 x H x W views: rasterio copies a 2-D array into that shape
        dst.write(probability[None], [1], window=window)
        if dst.count == 2:
            dst.write((valid.view(np.uint8) * np.uint8(255))[None], [2], window=window)


def bands_readable(work: Path, key: str, shape: tuple[int, int], rows: int, *, strip_rows: int = 1024) -> bool:
    """Whether the work folder holds this run's bands file with its first ``rows`` rows readable
    (read in strips: a file cut short opens, and fails only where its blocks are missing)."""
    try:
        with _open(work / BANDS) as src:
            if src.tags().get(KEY_TAG) != key or (src.height, src.width) != shape or src.count not in (1, 2):
                return False
            for y0 in range(0, rows, strip_rows):
                src.read(window=Window(0, y0, src.width, min(strip_rows, rows - y0)))
    except rasterio.errors.RasterioIOError:
        return False
    return True


def write_overviews(work: Path, *, block: int = OVERVIEW_BLOCK, strip_rows: int = 1024) -> list[str]:
    """The bands file's overview levels, each a two-band file like it (``overview_1.tif``, ...),
    each level halved from the one before (:func:`tiling.overviews.halve`), strip by strip."""
    names = []
    source = work / BANDS
    with _open(source) as src:
        width, height, count = src.width, src.height, src.count
    for level, (level_width, level_height) in enumerate(level_sizes(width, height, block), start=1):
        names.append(f"overview_{level}.tif")
        with _open(source) as src, _open(work / names[-1], "w", **_profile(level_width, level_height, count)) as dst:
            for y0 in range(0, src.height, strip_rows):  # an even number of rows: blocks never straddle strips
                window = Window(0, y0, src.width, min(strip_rows, src.height - y0))
                probability, validity = halve(src.read(1, window=window), src.read(2, window=window) if count == 2 else None)
                half = Window(0, y0 // 2, level_width, probability.shape[0])
                dst.write(probability[None], [1], window=half)
                if validity is not None:
                    dst.write(validity[None], [2], window=half)
        source = work / names[-1]
    return names


def _masked_vrt(width: int, height: int, source: str, *, header: str = "", levels: list[str] | None = None,
                masked: bool = True) -> str:
    """A VRT of ``source``'s band 1 with its band 2 as the mask (``masked``; else no mask: all
    valid); ``levels``: VRTs of its overviews."""
    def band(number: int, attributes: str) -> str:
        return (f'<VRTRasterBand dataType="Byte"{attributes}><SimpleSource>'
                f'<SourceFilename relativeToVRT="1">{source}</SourceFilename><SourceBand>{number}</SourceBand>'
                f"</SimpleSource>{overviews if number == 1 else ''}</VRTRasterBand>")

    overviews = "".join(f'<Overview><SourceFilename relativeToVRT="1">{name}</SourceFilename><SourceBand>1</SourceBand>'
                        "</Overview>" for name in levels or [])
    data = band(1, ' band="1"')
    mask = f"  <MaskBand>{band(2, '')}</MaskBand>\n" if masked else ""
    return f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">\n{header}  {data}\n{mask}</VRTDataset>\n'


def probability_vrt(info: RasterInfo, work: Path, key: str, overviews: list[str] | None = None) -> Path:
    """The bands file as a one-band raster with its validity as the mask (if it holds one):
    ``mask.tif`` uncompressed.

    With ``overviews`` (:func:`write_overviews`), the same raster with those levels as its own
    (``cog_source.vrt``, for the COG copy). Each level is a VRT of its file with the same kind
    of mask: GDAL copies a level's mask only from a level that has one."""
    georeferencing = ""
    if info.georeferenced:
        transform = ", ".join(repr(v) for v in info.transform.to_gdal())
        georeferencing = f"  <SRS>{escape(info.crs_wkt)}</SRS>\n  <GeoTransform>{transform}</GeoTransform>\n"
    tags = {**TAGS, KEY_TAG: key, "source": info.path.name}
    metadata = "".join(f'<MDI key="{escape(k)}">{escape(v)}</MDI>' for k, v in tags.items())
    with _open(work / BANDS) as bands:
        masked = bands.count == 2
    levels = []
    for name in overviews or []:
        with _open(work / name) as level:
            levels.append(str(Path(name).with_suffix(".vrt")))
            (work / levels[-1]).write_text(_masked_vrt(level.width, level.height, name, masked=masked), encoding="utf-8")
    text = _masked_vrt(info.width, info.height, BANDS, header=f"{georeferencing}  <Metadata>{metadata}</Metadata>\n",
                       levels=levels, masked=masked)
    path = work / (PROBABILITY_VRT if overviews is None else COG_SOURCE_VRT)
    path.write_text(text, encoding="utf-8")
    return path
