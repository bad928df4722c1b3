"""Local stand-ins for the outside services Voxframe calls."""
