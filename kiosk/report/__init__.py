"""What the board says about itself: health rules and endpoint, metrics, device facts, the proof-of-play
queue, heartbeats and uploads to the source system, systemd notifications."""
