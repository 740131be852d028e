"""Read models for the console, the API and the CLI; exports."""
