"""The gallery: the display's database and its migrations, the stored pictures, their variants per screen and
their wordless copies."""
