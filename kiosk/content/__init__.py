"""What a board plays, as validated data and pure decisions: the programme, the manifest, time windows,
the schedule, and the one pointer to the programme on screen. No I/O beyond reading the files it parses."""
