"""Is there a known tone in a WAV recording? Standard library only (wave + Goertzel).

The recording is cut into 50 ms blocks. A block is *loud* when its RMS is above
about -50 dBFS, and *on tone* when, in addition, the power at the expected
frequency is more than half of the block's power. Because a 50 ms block has
20 Hz bins, tones on multiples of 20 Hz (440, 1000) fall exactly on a bin and a
clean tone scores close to 1. The dominant frequency of the loud part is found
by scanning 50..(fs/2 - 50) Hz in 10 Hz steps over a few 100 ms blocks.
"""

from __future__ import annotations

import math
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

LOUD_RMS = 0.003  # of full scale, about -50 dBFS


@dataclass
class ToneReport:
    path: str
    rate: int
    seconds: float
    loud_seconds: float
    on_tone_seconds: float
    dominant_hz: float | None
    mean_share: float  # mean share of the expected tone's power over loud blocks
    rms: float

    def summary(self, expect: float) -> str:
        dom = f"{self.dominant_hz:.0f} Hz" if self.dominant_hz is not None else "none"
        return (f"{self.seconds:.1f} s recorded at {self.rate} Hz, {self.loud_seconds:.1f} s not silent, "
                f"{self.on_tone_seconds:.1f} s on {expect:.0f} Hz (mean share {self.mean_share:.2f}), "
                f"dominant {dom}, rms {self.rms:.3f}")


def read_mono(path: Path) -> tuple[list[float], int]:
    """Samples scaled to [-1, 1) (16-bit PCM; the first channel of several)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, expected 16-bit")
        rate, channels = w.getframerate(), w.getnchannels()
        raw = array("h", w.readframes(w.getnframes()))
    return [v / 32768.0 for v in raw[::channels]], rate


def goertzel_power(block: list[float], freq: float, rate: int) -> float:
    """|X(freq)|^2 of the block, scaled so a full-block sine of amplitude A gives A^2/2 per sample."""
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    n = len(block)
    return 2.0 * power / (n * n)


def dominant(samples: list[float], rate: int, starts: list[int], n: int) -> float | None:
    best, best_f = 0.0, None
    for f in range(50, rate // 2 - 50, 10):
        p = sum(goertzel_power(samples[s:s + n], f, rate) for s in starts)
        if p > best:
            best, best_f = p, float(f)
    return best_f


def analyse(path: Path, expect: float) -> ToneReport:
    samples, rate = read_mono(path)
    n = rate // 20  # 50 ms
    loud = on_tone = 0
    shares, loud_starts = [], []
    total_sq = 0.0
    for start in range(0, len(samples) - n + 1, n):
        block = samples[start:start + n]
        mean_sq = sum(x * x for x in block) / n
        total_sq += mean_sq * n
        if math.sqrt(mean_sq) < LOUD_RMS:
            continue
        loud += 1
        loud_starts.append(start)
        share = min(1.0, goertzel_power(block, expect, rate) / mean_sq)
        shares.append(share)
        if share > 0.5:
            on_tone += 1
    # A handful of 100 ms blocks spread over the loud part is enough for the scan.
    picks = loud_starts[len(loud_starts) // 6::max(1, len(loud_starts) // 6)][:5]
    dom = dominant(samples, rate, picks, min(rate // 10, len(samples))) if picks else None
    return ToneReport(
        path=str(path), rate=rate, seconds=len(samples) / rate, loud_seconds=loud * 0.05,
        on_tone_seconds=on_tone * 0.05, dominant_hz=dom,
        mean_share=sum(shares) / len(shares) if shares else 0.0,
        rms=math.sqrt(total_sq / len(samples)) if samples else 0.0)


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 3:
        sys.exit("usage: tone.py FILE.wav EXPECTED_HZ")
    print(analyse(Path(sys.argv[1]), float(sys.argv[2])).summary(float(sys.argv[2])))
