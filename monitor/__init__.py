"""monitor: watches the pages where AI providers change the rules and says what changed."""

__version__ = "0.1.0"
