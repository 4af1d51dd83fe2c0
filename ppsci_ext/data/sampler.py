"""A shuffling batch sampler whose position can be saved and restored exactly."""

from __future__ import annotations

from typing import Dict

import numpy as np

__all__ = ["EpochShuffleSampler"]


class EpochShuffleSampler:
    """Endless batches of indices: each pass over the data is a fresh permutation
    drawn from ``(seed, pass number)``, split between processes by rank; the last
    incomplete batch of a pass is dropped.

    Unlike Paddle's shuffling sampler (which draws from numpy's global random state,
    in the DataLoader's prefetch thread), the order depends on nothing but the seed,
    so :meth:`state_dict` (two integers) is all a resumed run needs.

    Args:
        num_samples (int): Size of the data set.
        batch_size (int): Indices per batch (per process).
        seed (int): Seed of the permutations.
        rank (int): This process's rank. Defaults to 0.
        world_size (int): Number of processes. Defaults to 1.

    Examples:
        >>> from ppsci_ext.data.sampler import EpochShuffleSampler
        >>> sampler = EpochShuffleSampler(10, batch_size=4, seed=0)
        >>> first = [sampler.next_batch().tolist() for _ in range(3)]
        >>> len(set(sum(first[:2], [])))  # no repeats within a pass
        8
        >>> sampler.set_state_dict({"epoch": 0, "position": 1})
        >>> sampler.next_batch().tolist() == first[1]
        True
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        per_process = num_samples // world_size
        if batch_size > per_process:
            raise ValueError(
                f"The batch size ({batch_size}) is larger than the number of samples each "
                f"of the {world_size} process(es) gets ({per_process} of {num_samples}); "
                "use a smaller batch size or more data."
            )
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.batches_per_pass = per_process // batch_size
        self.epoch, self.position = 0, 0
        self._order = None

    def _pass_order(self) -> np.ndarray:
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_samples)
        return perm[self.rank :: self.world_size]

    def next_batch(self) -> np.ndarray:
        if self.position >= self.batches_per_pass:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        if self._order is None:
            self._order = self._pass_order()
        start = self.position * self.batch_size
        self.position += 1
        return self._order[start : start + self.batch_size]

    def state_dict(self) -> Dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def set_state_dict(self, state: Dict[str, int]) -> None:
        self.epoch, self.position, self._order = int(state["epoch"]), int(state["position"]), None
