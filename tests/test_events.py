"""Run events and statuses: the dispatch side loads no torch, and every status a job takes is what the store keeps."""

import subprocess
import sys
from dataclasses import replace

from textclf.runs.events import ACTIVE, BatchDone, RunFinished, RunStarted, Status


def test_importing_the_dispatch_back_ends_loads_no_torch():
    """A Dask scheduler or the page-serving process relays events and cancels without the training code."""
    code = ("import sys, textclf.runs.dispatch, textclf.runs.events; "
            "print('torch' in sys.modules, 'textclf.training.loop' in sys.modules)")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.split() == ["False", "False"]


def test_a_status_is_its_stored_word_and_only_queued_and_running_are_active():
    assert [status.value for status in Status] == ["queued", "running", "done", "cancelled", "failed", "interrupted"]
    assert Status("done") == "done" and f"{Status.FAILED}" == "failed"
    assert set(ACTIVE) == {Status.QUEUED, Status.RUNNING}


def test_an_event_is_named_and_placed_on_its_way_without_changing_what_it_says():
    batch = BatchDone(epoch=2, epochs=4, batch=5, batches=10, loss=0.3)
    named = replace(batch, index=3, run="TextCNN · seed 0")
    assert (named.index, named.run, named.loss) == (3, "TextCNN · seed 0", 0.3) and batch.index == -1
    assert named.share_done == (1 + 0.5) / 4
    assert RunStarted(index=0, worker="w") != RunFinished(index=0, result=None, placement={})
