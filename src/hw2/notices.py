"""The warnings a reader of any run must not miss: the captioning numbers come from the synthetic
demo set, or from a randomly initialised encoder."""
from __future__ import annotations


def data_warnings(synthetic: bool, encoder_weights: str | None) -> list[str]:
    """One line per condition that makes the captioning results a demonstration, not results:
    ``synthetic`` (the caption set is the generated demo set) and ``encoder_weights`` (what the
    feature extractor was loaded with; ``random`` when it had no trained weights)."""
    out = []
    if synthetic:
        out.append("the captioning results come from the SYNTHETIC demo set (no real caption set was given): "
                   "they show that the pipeline works, not results on real imagery")
    if encoder_weights == "random":
        out.append("the image features come from a RANDOMLY INITIALISED ResNet-18 (no ImageNet weights): "
                   "see README, Captioning data, to use the real weights offline")
    return out
