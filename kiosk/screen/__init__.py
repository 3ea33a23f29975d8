"""Everything that draws or sounds: the display, fonts, text layout, slides, audio, the panel's power.

The only package that imports pygame, so the rest of kiosk imports (and is tested) without a display.
`text` and `power` are pure and import no pygame.
"""
