"""The `kiosk` command's front-ends: argument parsing, one module per command, errors mapped to exit codes."""
