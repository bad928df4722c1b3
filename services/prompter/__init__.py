"""Prompt selection: the most interesting words of a room's last half minute become an image prompt."""
