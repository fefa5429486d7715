"""A loopback fleet's /16 is claimed for its life: two fleets never share one."""

from __future__ import annotations

import ipaddress
import multiprocessing
import socket

import pytest

from simulators.fleet import addresses
from simulators.fleet.addresses import claim_loopback_block
from simulators.fleet.errors import FleetError


def _block_of(address: str) -> str:
    return str(ipaddress.IPv4Network(f"{address}/16", strict=False))


def test_claimed_blocks_are_distinct_until_released() -> None:
    blocks = [claim_loopback_block(3) for _ in range(25)]
    try:
        networks = [_block_of(block.addresses[0]) for block in blocks]
        assert len(set(networks)) == len(networks)
        for block in blocks:
            assert all(_block_of(a) == _block_of(block.addresses[0]) for a in block.addresses)
            assert all(0 < int(a.rsplit(".", 1)[1]) < 255 for a in block.addresses)
    finally:
        for block in blocks:
            block.release()


def _claim_in_child(queue: multiprocessing.Queue[str]) -> None:
    block = claim_loopback_block(1)
    queue.put(_block_of(block.addresses[0]))
    queue.get()  # hold the claim until the parent has claimed its own


def test_another_process_never_gets_a_block_this_one_holds() -> None:
    mine = [claim_loopback_block(1) for _ in range(60)]  # most of the 150 blocks
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = context.Queue()
    child = context.Process(target=_claim_in_child, args=(queue,))
    child.start()
    try:
        theirs = queue.get(timeout=60)
        assert theirs not in {_block_of(block.addresses[0]) for block in mine}
        queue.put("done")
    finally:
        child.join(30)
        for block in mine:
            block.release()


class _Fixed:
    """Tries the given blocks in order."""

    def __init__(self, seconds: list[int]) -> None:
        self.seconds = seconds

    def sample(self, population: range, k: int) -> list[int]:
        return [s for s in self.seconds if s in population][:k]


def test_a_block_whose_first_address_is_taken_is_skipped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    held = claim_loopback_block(1)
    free = claim_loopback_block(1)
    held_second, free_second = (int(b.addresses[0].split(".")[1]) for b in (held, free))
    free.release()
    with socket.socket() as squatter:  # something else listens there, with no claim
        squatter.bind((free.addresses[0], 8554))
        squatter.listen()
        for second in (held_second, free_second):  # one claimed, one squatted
            monkeypatch.setattr(addresses, "_RNG", _Fixed([second]))
            with pytest.raises(FleetError, match="no free"):
                claim_loopback_block(1, port=8554)
    monkeypatch.setattr(addresses, "_RNG", _Fixed([held_second, free_second]))
    block = claim_loopback_block(1, port=8554)  # the squatter has gone; the claim stays
    assert block.addresses == [f"127.{free_second}.0.1"]
    block.release()
    held.release()


def test_a_given_base_outside_loopback_is_refused() -> None:
    with pytest.raises(FleetError, match=r"127\.0\.0\.0/8"):
        claim_loopback_block(2, base="10.0.0.0/16")
    assert claim_loopback_block(2, base="127.77.0.0/16").addresses == ["127.77.0.1",
                                                                      "127.77.0.2"]
