"""The backup deck: screenshots of what the audience sees at each act of a rehearsal, in one HTML file.

`DeckRecorder` is a runner observer (on_act_start / on_act_end); after the run,
`DeckRecorder.write(journey, report)` renders `deck.html` with every image embedded as a
data: URI, the timeline, the measured numbers and the cloud-vs-automotive table, so it opens
without network when the live demo cannot.
"""
from license_demo.deck.recorder import DeckRecorder, Shot

__all__ = ["DeckRecorder", "Shot"]
