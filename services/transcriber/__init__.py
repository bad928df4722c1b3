"""Transcription worker: speech segments in, transcripts out, with offline Whisper or AssemblyAI streaming."""
