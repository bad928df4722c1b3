"""Audio every service shares: decoding, conversion to 16 kHz mono int16, voice activity detection, segmenting.

    from shared.audio import decode_audio, segment_file, Segmenter, SegmenterOptions, AudioDecodeError

    samples = decode_audio("talk.mp3")            # or the bytes of an upload; np.int16, 16 kHz, mono
    for seg in segment_file(samples):             # whole recording → speech segments, cut at pauses
        seg.samples, seg.start_sample, seg.end_sample, seg.end_reason, seg.duration_seconds, seg.pcm()

    for piece in plan_pieces(segment_file(samples), len(samples)):  # to hear a whole recording: segments joined
        piece.begin, piece.end, piece.own_start, piece.own_end    # up to Whisper's 30 s, context either side

    segmenter = Segmenter(SegmenterOptions(max_segment_s=20))   # live: one per stream (mic)
    for block in blocks:                          # int16 16 kHz mono blocks of any size
        for seg in segmenter.feed(block): ...     # segments come out once their pause is heard
    segmenter.flush(EndReason.END_OF_INPUT)       # the utterance in progress at the end (or MUTED, DEVICE_LOST)

    converter = StreamConverter(rate_hz=48000, channels=2)       # live device blocks → 16 kHz mono int16
    samples16k = converter.convert(float_or_int16_block)

`decode_audio` raises `AudioDecodeError` (a ValueError) for content that is not audio, whatever its name, and
`AudioTooLong` past `max_seconds` (checked from the header, then while decoding: nothing is decoded past it).
Segment offsets count samples since the segmenter started (divide by SAMPLE_RATE_HZ for seconds). The VAD is
Silero v6 (shipped inside faster-whisper, nothing downloads) behind the one-method `VoiceDetector` protocol.
"""

from shared.audio.convert import StreamConverter, to_float32, to_int16, to_pipeline_format
from shared.audio.decode import AudioDecodeError, AudioTooLong, decode_audio
from shared.audio.pieces import Piece, plan_pieces
from shared.audio.segmenter import Segmenter, SegmenterOptions, SpeechSegment, segment_file
from shared.audio.vad import WINDOW_SAMPLES, SileroVad, VoiceDetector
from shared.messages.audio import SAMPLE_RATE_HZ

__all__ = [
    "SAMPLE_RATE_HZ",
    "WINDOW_SAMPLES",
    "AudioDecodeError",
    "AudioTooLong",
    "Piece",
    "Segmenter",
    "SegmenterOptions",
    "SileroVad",
    "SpeechSegment",
    "StreamConverter",
    "VoiceDetector",
    "decode_audio",
    "plan_pieces",
    "segment_file",
    "to_float32",
    "to_int16",
    "to_pipeline_format",
]
