"""Concrete cracks: dataset repair, segmentation training and geospatial crack inspection."""

__version__ = "0.1.0"
