"""The one error the media layer raises for a file it cannot accept."""

from aima.errors import AimaError

#: Every machine code a :class:`BadMedia` can carry, with the stage that raises it.
CODES: dict[str, str] = {
    "bad_name": "validate: the file name holds control characters",
    "symlink_loop": "validate: the path is a loop of symbolic links",
    "unreadable": "validate: missing, a dangling link, not a regular file, or permission denied",
    "empty_file": "validate: the file has 0 bytes",
    "too_large": "validate: the file is over the size limit (AIMA_MAX_FILE_BYTES)",
    "too_many_pixels": "sniff/probe/thumbnails/keyframes: an image, or a video's frames, declares"
                       " more pixels than the limit (AIMA_MAX_IMAGE_PIXELS)",
    "unsupported_type": "sniff: the content is not a supported image, video or audio format",
    "corrupt_image": "sniff/probe/thumbnails: the image header or pixel data cannot be decoded",
    "corrupt_media": "sniff: the container's signature is known but it cannot be opened",
    "no_streams": "sniff: the container has neither a video nor an audio stream",
    "no_video_stream": "sniff: a file named as a video holds audio only",
    "no_audio_frames": "sniff/audio: the audio stream holds no decodable frames",
    "corrupt_audio": "sniff/audio: the audio stream's packets cannot be decoded",
    "corrupt_video": "probe: the first video frame cannot be decoded",
    "truncated": "sniff/probe/keyframes: the data ends before the declared end, or decoding breaks off",
}


class BadMedia(AimaError):
    """A media file that AIMA refuses, with a stable machine code and a specific reason.

    ``code`` is one of :data:`CODES` (stable, for programs and reports); ``reason`` is one sentence
    for a person, naming what exactly is wrong (``"file is empty (0 bytes)"``). ``str()`` gives the
    reason.
    """

    def __init__(self, code: str, reason: str):
        if code not in CODES:
            raise ValueError(f"unknown BadMedia code {code!r}")
        self.code = code
        self.reason = reason
        super().__init__(reason)

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        return f"BadMedia({self.code!r}, {self.reason!r})"

    def __reduce__(self):  # keep code and reason when pickled (Prefect results, processes)
        return (type(self), (self.code, self.reason))
