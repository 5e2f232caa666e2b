"""The demo journeys: acts, their load, the timeline report and the `journey` subcommand."""
