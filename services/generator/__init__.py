"""Image generation: prompts become pictures, on a local poster renderer, a GPU in process or over HTTP."""
