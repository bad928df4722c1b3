"""The display: picture frames, live dashboard with controls, audio uploads and the gallery, on the web."""
