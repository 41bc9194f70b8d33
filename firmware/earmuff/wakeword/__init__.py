"""Custom wake words: train from a typed phrase, store, activate, test."""
