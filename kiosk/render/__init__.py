"""Everything that draws: fonts, text layout, slides, the screen.

This is the only package that imports pygame, so the rest of kiosk imports
(and is tested) without a display. `text` is pure and imports no pygame.
"""
