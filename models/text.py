"""The character corpus the transformer reads: models/samples/fables.txt (written for skiplab, shipped in the repo,
under the project's licence), its alphabet, and random windows of it as (input, next-character target) batches."""

from dataclasses import dataclass
from pathlib import Path

import torch

CORPUS = Path(__file__).parent / "samples" / "fables.txt"


@dataclass(frozen=True)
class Corpus:
    text: str
    chars: str  # the alphabet, sorted: character i has id i

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> torch.Tensor:
        """A string -> (len,) int64 ids; ValueError naming a character the corpus lacks."""
        index = {c: i for i, c in enumerate(self.chars)}
        missing = sorted({c for c in s if c not in index})
        if missing:
            raise ValueError(f"the corpus has no {', '.join(map(repr, missing))}: the model cannot read it.")
        return torch.tensor([index[c] for c in s], dtype=torch.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def load_corpus(path: Path = CORPUS) -> Corpus:
    text = path.read_text(encoding="utf-8")
    return Corpus(text, "".join(sorted(set(text))))


def windows(ids: torch.Tensor, batch: int, length: int, generator: torch.Generator):
    """`batch` random windows of `length` characters: (x (batch, length), y (batch, length)), y = x shifted by one."""
    if len(ids) <= length:
        raise ValueError(f"the text has {len(ids)} characters: too few for windows of {length}.")
    start = torch.randint(0, len(ids) - length, (batch,), generator=generator)
    x = torch.stack([ids[s : s + length] for s in start.tolist()])
    y = torch.stack([ids[s + 1 : s + 1 + length] for s in start.tolist()])
    return x, y
