"""Clocks: the hour-of-week volume profile, the volume clock and VPIN."""
