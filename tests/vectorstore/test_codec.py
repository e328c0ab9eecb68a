"""Sentence vectors as metadata strings: float16 round trip, layout, bad input."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from vectorstore.codec import decode_vectors, encode_vectors


def test_round_trip_is_float16_close_and_row_major_little_endian() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    data = encode_vectors(vectors)
    raw = base64.b64decode(data)
    assert len(raw) == 5 * 384 * 2
    assert np.frombuffer(raw[:2], "<f2")[0] == np.float16(vectors[0, 0])
    back = decode_vectors(data, 384)
    assert back.dtype == np.float32 and back.shape == (5, 384)
    assert np.abs(back - vectors).max() < 1e-3


def test_wrong_dimension_is_refused() -> None:
    data = encode_vectors(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="rows of 4"):
        decode_vectors(data, 4)
