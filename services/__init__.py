"""The five workers of the pipeline, one package each: capture → transcriber → prompter → generator → display."""
