"""A fake sound device pulled block by block by the test (where exact timing is the point)."""

from __future__ import annotations

import numpy as np

from app.audio.backend import DeviceInfo, Kind
from app.audio.fake import FakeAudioBackend


class ManualSpeaker(FakeAudioBackend):
    """A device that plays (or records) a block only when the test says so (`pull()`):
    for the pieces whose exact timing is the point."""

    def open_stream(self, kind: Kind, device: DeviceInfo, samplerate, channels, blocksize, cb):
        speaker = self

        class Stream:
            active = True

            def start(self) -> None:
                speaker.pull = lambda: cb(np.zeros((blocksize, channels), np.float32))

            def stop(self) -> None: ...

            abort = close = stop

        return Stream()
