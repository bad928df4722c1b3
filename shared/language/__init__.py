"""Words in the languages a room may speak: their lemmas, their stop words, and an English gloss for the ones a
picture can show (the illustrator and the diffusion and cloud prompts speak English)."""
