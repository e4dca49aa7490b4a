"""Crack datasets: layout readers, the manifest, repair (`fix`) and the torch Dataset."""

from cracks.data.layouts import LAYOUTS, Pair, detect_layout, read_pairs
from cracks.data.masks import read_image, read_mask

__all__ = ["LAYOUTS", "Pair", "detect_layout", "read_pairs", "read_image", "read_mask"]
