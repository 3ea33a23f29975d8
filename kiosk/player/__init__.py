"""The player: which slide, when, interrupts, paging and screen power, decided by a pygame-free object that
reads time from a clock and draws through a screen it is given; frames are built ahead on their own thread."""
