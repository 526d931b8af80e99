"""Audio in and out: a backend Protocol, sounddevice and fake backends, capture and playback."""
