"""Sample-rate and channel conversion (soxr: high quality, fast enough for the callback side)."""

from __future__ import annotations

import numpy as np
import soxr


def to_mono(frames: np.ndarray) -> np.ndarray:
    """frames x channels (or 1-D) -> 1-D float32."""
    if frames.ndim == 2:
        frames = frames.mean(axis=1) if frames.shape[1] > 1 else frames[:, 0]
    return np.ascontiguousarray(frames, dtype=np.float32)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Mono float32 `samples` from `rate_in` to `rate_out` Hz."""
    samples = np.asarray(samples, dtype=np.float32)
    if rate_in == rate_out or samples.size == 0:
        return samples
    return soxr.resample(samples, rate_in, rate_out).astype(np.float32, copy=False)
