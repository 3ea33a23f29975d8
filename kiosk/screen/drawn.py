"""A slide's frames as a sequence drawn when indexed: what Renderer.pages returns for every kind of slide
with several frames (a long notice's pages, a document's sections, languages in turn), so that only the
frames on screen and next exist (player.frames.Pages asks for them one at a time)."""

from __future__ import annotations

from collections.abc import Sequence


class Drawn(Sequence):
    """Subclasses say how many frames there are (`__len__`) and draw one (`_draw(index)`, from 0)."""

    def _draw(self, index: int):
        raise NotImplementedError

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._draw(index)
