"""The hand-over thread (erp/handover.py) that sends committed deliveries to the
broker off the publishing thread. ``send`` stands in for erp.relay.enqueue so
each test can hold or fail the broker at a chosen moment; the real broker path
is proven in test_event_relay_worker.py."""

import threading

from erp.handover import Handover


class Sender:
    """Records each hand-over; can hold the first one, or fail some."""

    def __init__(self, *, hold_first: bool = False, fail_first: int = 0):
        self.calls: list[tuple[list[int], str]] = []
        self.fail_first = fail_first
        self.first_started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, delivery_ids: list[int], alias: str) -> int:
        self.first_started.set()
        self.release.wait(10)
        self.calls.append((list(delivery_ids), alias))
        if len(self.calls) <= self.fail_first:
            raise ConnectionError("broker down")
        return len(delivery_ids)


def test_deliveries_queued_while_the_broker_is_busy_go_in_one_send_per_database():
    sender = Sender(hold_first=True)
    handover = Handover(sender)
    handover.submit([1], "default")
    assert sender.first_started.wait(5)
    handover.submit([2, 3], "default")
    handover.submit([10], "vendas")
    handover.submit([4], "default")
    sender.release.set()
    assert handover.flush(5)
    assert sender.calls == [([1], "default"), ([2, 3, 4], "default"), ([10], "vendas")]


def test_a_failed_send_does_not_stop_later_hand_overs():
    sender = Sender(fail_first=1)
    handover = Handover(sender)
    handover.submit([1], "default")
    assert handover.flush(5)  # failed: left to the sweep
    handover.submit([2], "default")
    assert handover.flush(5)
    assert sender.calls == [([1], "default"), ([2], "default")]


def test_flush_says_when_the_broker_did_not_take_everything_in_time():
    sender = Sender(hold_first=True)
    handover = Handover(sender)
    handover.submit([1], "default")
    assert handover.flush(0.2) is False
    sender.release.set()
    assert handover.flush(5) is True


def test_flush_in_a_process_that_submitted_nothing_returns_at_once():
    assert Handover(Sender()).flush(0) is True
