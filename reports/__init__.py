"""Outputs for people and GIS: vector layers, site summaries, PDF condition reports."""
