"""The warnings a reader of any run must not miss: the captioning numbers come from the synthetic
demo set, or from a randomly initialised encoder; the digits are not those every x86-64 CPU with
AVX2 gives (the native kernels, or a CPU without AVX2)."""

from __future__ import annotations


def data_warnings(synthetic: bool, encoder_weights: str | None) -> list[str]:
    """One line per condition that makes the captioning results a demonstration, not results:
    ``synthetic`` (the caption set is the generated demo set) and ``encoder_weights`` (what the
    feature extractor was loaded with; ``random`` when it had no trained weights)."""
    out = []
    if synthetic:
        out.append(
            "the captioning results come from the SYNTHETIC demo set (no real caption set was given): "
            "they show that the pipeline works, not results on real imagery"
        )
    if encoder_weights == "random":
        out.append(
            "the image features come from a RANDOMLY INITIALISED ResNet-18 (no ImageNet weights): "
            "see data/weights/README.md for the homework's ImageNet encoder"
        )
    return out


def kernel_warnings(metrics: list[dict]) -> list[str]:
    """One line for the kernels recorded in ``metrics`` (dicts with ``kernels`` and
    ``kernel_path``, as :meth:`Kernels.apply` returns them) when the digits are not the portable AVX2 ones:
    said once, however many of them computed so."""
    lines = []
    for m in metrics:
        line = kernel_warning(m["kernels"], m["kernel_path"]) if "kernel_path" in m else None
        if line and line not in lines:
            lines.append(line)
    return lines


def kernel_warning(kernels: str, kernel_path: str) -> str | None:
    """The line a run must say when its digits are not those of the committed run's kind of
    machine (an AVX2 CPU in the portable kernels); None when they are."""
    if kernels == "native":
        return (
            "the arithmetic ran in this CPU's NATIVE kernels (kernels: native, or a bfloat16 precision): faster, "
            "but the digits are this machine's own, not those every x86-64 CPU with AVX2 gives in the portable "
            "kernels"
        )
    if "without AVX2" in kernel_path:
        return (
            "this CPU has NO AVX2: the portable kernels ran PyTorch's DEFAULT code and oneDNN's SSE4.1 code, so "
            "the digits are those of CPUs without AVX2 and differ from an AVX2 CPU's (the committed run's)"
        )
    return None
