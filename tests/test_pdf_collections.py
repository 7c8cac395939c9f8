"""While a PDF is rendered the garbage collector runs rarely; its setting comes back after."""

import gc
import threading

from walkabout.reports.pdf import RENDER_GC_THRESHOLD, rare_collections, render_pdf


def test_the_collector_setting_comes_back_after_renders_in_two_threads():
    before = gc.get_threshold()
    inside = []
    entered, release = threading.Barrier(2), threading.Event()

    def render():
        with rare_collections():
            entered.wait()
            inside.append(gc.get_threshold()[0])
            release.wait(5)

    other = threading.Thread(target=render)
    other.start()
    with rare_collections():
        entered.wait()
        release.set()
        other.join()
        assert gc.get_threshold()[0] == RENDER_GC_THRESHOLD  # the other thread left first
    assert inside == [RENDER_GC_THRESHOLD]
    assert gc.get_threshold() == before
    assert render_pdf("<p>Hello</p>").startswith(b"%PDF-") and gc.get_threshold() == before
