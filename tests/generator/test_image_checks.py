"""Output validation: a backend that returns garbage raises an error, never becomes an image."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from services.generator.engines import BackendError, checked_picture
from shared.messages.image import MAX_IMAGE_SIDE
from tests.generator.servers import image_b64


def encoded(image_format: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(("image_format", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                                     ("WEBP", "image/webp")])
def test_valid_images_pass_with_their_size_and_type(image_format: str, mime: str) -> None:
    picture = checked_picture(encoded(image_format), "test")
    assert (picture.mime_type, picture.width, picture.height, picture.backend) == (mime, 40, 30, "test")


@pytest.mark.parametrize("data", [b"", b"not an image at all", encoded("PNG")[:60], encoded("GIF"),
                                  base64.b64decode(image_b64())[:-400]])
def test_garbage_is_an_invalid_image_error(data: bytes) -> None:
    with pytest.raises(BackendError) as caught:
        checked_picture(data, "test")
    assert caught.value.reason == "invalid_image"
    assert not caught.value.retryable


def test_images_over_the_byte_limit_are_refused() -> None:
    with pytest.raises(BackendError, match="over the 20-byte limit"):
        checked_picture(encoded("PNG"), "test", max_bytes=20)


def test_a_side_no_message_carries_is_refused() -> None:
    """Under the pixel cap but wider than a GeneratedImage's side may be: an error here, not a message that fails
    to validate after the picture was paid for."""
    with pytest.raises(BackendError, match=f"{MAX_IMAGE_SIDE} a side") as caught:
        checked_picture(encoded("PNG", (MAX_IMAGE_SIDE + 1, 1)), "test")
    assert caught.value.reason == "invalid_image"
