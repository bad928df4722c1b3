"""Frames that fetch a picture rather than hold a page open: e-ink panels and TRMNL."""
