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


class StreamResampler:
    """One continuous stream resampled block by block: unlike `resample` on each block, no
    edge artefacts at the block boundaries (which an echo canceller would read as sound). The
    output lags the input by the filter's few milliseconds, the same for every stream."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32")

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        if self.rate_in == self.rate_out:
            return samples
        return self._stream.resample_chunk(samples)
