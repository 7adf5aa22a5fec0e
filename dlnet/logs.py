"""A line logger for rule log files: timestamped, flushed at once so `tail -f` shows progress."""

import time
from pathlib import Path


class Log:
    def __init__(self, path=None):
        self.path = Path(path) if path else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("")

    def __call__(self, message):
        line = f"{time.strftime('%H:%M:%S')} {message}"
        if self.path:
            with open(self.path, "a") as f:
                f.write(line + "\n")
        else:
            print(line, flush=True)
