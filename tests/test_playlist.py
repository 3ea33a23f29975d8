from kiosk.content.programme import Slide
from kiosk.content.schedule import must_interrupt, next_slide

A, B, C = (Slide(id=x, type="text", title=x) for x in "abc")
E = Slide(id="e", type="text", title="Bão", priority="emergency")


def test_loop_advances_and_wraps():
    assert next_slide((), (A, B, C), None) == A
    assert next_slide((), (A, B, C), "a") == B
    assert next_slide((), (A, B, C), "c") == A


def test_previous_gone_starts_over_and_nothing_is_none():
    assert next_slide((), (A, B), "zz") == A
    assert next_slide((), (), "a") is None


def test_emergency_holds_the_screen_and_interrupts():
    assert next_slide((E,), (A, B), "a") == E
    assert must_interrupt((E,), A)
    assert must_interrupt((E,), None)
    assert not must_interrupt((E,), E)
    assert must_interrupt((), E)  # the emergency ended: back to the loop at once
    assert not must_interrupt((), A)
