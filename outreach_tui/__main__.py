"""`python -m outreach_tui` runs the same command as the `outreach-tui` script."""

from outreach_tui.cli import main

if __name__ == "__main__":
    main()
