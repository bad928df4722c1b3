"""The capture worker: microphones and audio files → speech segments on the bus, cut at pauses."""
