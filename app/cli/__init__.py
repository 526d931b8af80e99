"""The `parley` command: launch.py starts it (before anything heavy is imported), main.py
parses the command line and opens the window or runs a command; one module per command
group (ask, chats, assistants, feedback, models, devices, self-test)."""
