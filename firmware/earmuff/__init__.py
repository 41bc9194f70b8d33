"""earmuff: jams a smart speaker's microphones until its owner says their own wake name."""

__version__ = "0.1.0"
